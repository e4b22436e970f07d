package controller

import (
	"context"
	"slices"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// DeleteTopic removes a topic and its partition states. Internal topics
// cannot be deleted.
func (c *Controller) DeleteTopic(ctx context.Context, req *messages.DeleteTopicRequest) *messages.DeleteTopicResponse {
	err := c.retry(ctx, func() error {
		topic, err := metadata.GetTopic(ctx, c.store, req.GetName())
		if err != nil {
			return err
		}
		if topic.Internal {
			return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION,
				"topic %q is internal and cannot be deleted", topic.Name)
		}
		return metadata.DeleteTopic(ctx, c.store, topic.Name)
	})
	if err != nil {
		return &messages.DeleteTopicResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.DeleteTopicResponse{}
}

// AlterConfigs sets and deletes (resets to the broker default) topic config
// overrides. The result is validated as a whole before anything is written;
// an invalid value or unknown name changes nothing. The response carries the
// topic's overrides after the change (or as they would be, with
// validate_only).
func (c *Controller) AlterConfigs(ctx context.Context, req *messages.AlterConfigsRequest) *messages.AlterConfigsResponse {
	var result map[string]string
	err := c.retry(ctx, func() error {
		topic, err := metadata.GetTopic(ctx, c.store, req.GetTopic())
		if err != nil {
			return err
		}
		configs, err := alteredConfigs(topic.Configs, req)
		if err != nil {
			return err
		}
		if _, err := metadata.ParseTopicConfig(configs, c.defaults, topic.ReplicationFactor()); err != nil {
			return err
		}
		result = configs
		if req.GetValidateOnly() {
			return nil
		}
		topic.Configs = configs
		_, err = metadata.UpdateTopic(ctx, c.store, topic)
		return err
	})
	if err != nil {
		return &messages.AlterConfigsResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.AlterConfigsResponse{Configs: result}
}

// alteredConfigs applies req's set and delete lists to a copy of current.
func alteredConfigs(current map[string]string, req *messages.AlterConfigsRequest) (map[string]string, error) {
	configs := copyConfigs(current)
	if configs == nil {
		configs = make(map[string]string)
	}
	for _, name := range req.GetDelete() {
		if _, set := req.GetSet()[name]; set {
			return nil, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "config %q is both set and deleted", name)
		}
		if !isConfigName(name) {
			return nil, messages.Wrap(messages.ErrorCode_INVALID_CONFIG, "unknown topic config %q", name)
		}
		delete(configs, name)
	}
	for name, value := range req.GetSet() {
		configs[name] = value
	}
	if len(configs) == 0 {
		return nil, nil
	}
	return configs, nil
}

func isConfigName(name string) bool {
	return slices.Contains(metadata.ConfigNames(), name)
}

func copyConfigs(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
