package group

// OffsetsPartition returns the __consumer_offsets partition that holds
// groupID's records, out of partitions: Kafka's
// Utils.abs(groupId.hashCode()) % partitions, so a group maps to the same
// partition number as it would in Kafka. It panics if partitions <= 0.
func OffsetsPartition(groupID string, partitions int32) int32 {
	h := javaStringHash(groupID)
	if h == -1<<31 {
		h = 0 // Utils.abs maps Integer.MIN_VALUE to 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over UTF-16 code units, in 32-bit wrapping arithmetic. Invalid UTF-8
// bytes count as U+FFFD, as Java decodes them.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
