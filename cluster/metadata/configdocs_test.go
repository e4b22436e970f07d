package metadata

import "testing"

func TestConfigDocsCoverEveryName(t *testing.T) {
	docs := ConfigDocs()
	if len(docs) != len(ConfigNames()) {
		t.Errorf("%d config docs for %d configs", len(docs), len(ConfigNames()))
	}
	for _, name := range ConfigNames() {
		d, ok := ConfigDocOf(name)
		if !ok || d.Name != name || d.Type == "" || d.BrokerName == "" || d.Doc == "" {
			t.Errorf("config %s: doc %+v, want its name, a type, a broker name and a doc", name, d)
		}
	}
}
