package controller

import (
	"context"
	"errors"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/placement"
	"github.com/sluice-mq/sluice/messages"
)

// CreateTopic validates the request (name, partitions >= 1, replication
// factor >= 1 and at most the live members, configs), assigns replicas over
// the live members and writes the topic and its initial partition states
// (first replica leads in epoch 0, every replica in sync). With
// validate_only it does everything but the write. The response always
// carries the outcome; on success it describes the topic.
func (c *Controller) CreateTopic(ctx context.Context, req *messages.CreateTopicRequest) *messages.CreateTopicResponse {
	topic, err := c.createTopic(ctx, req, false)
	if err != nil {
		return &messages.CreateTopicResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.CreateTopicResponse{Topic: newTopicMetadata(topic)}
}

// CreateInternalTopic is CreateTopic for topics the brokers themselves use
// (__consumer_offsets): the topic is marked internal, which keeps clients
// from deleting it.
func (c *Controller) CreateInternalTopic(ctx context.Context, req *messages.CreateTopicRequest) *messages.CreateTopicResponse {
	topic, err := c.createTopic(ctx, req, true)
	if err != nil {
		return &messages.CreateTopicResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.CreateTopicResponse{Topic: newTopicMetadata(topic)}
}

func (c *Controller) createTopic(ctx context.Context, req *messages.CreateTopicRequest, internal bool) (metadata.Topic, error) {
	name := req.GetName()
	if err := metadata.ValidateTopicName(name); err != nil {
		return metadata.Topic{}, err
	}
	partitions, rf := int(req.GetPartitions()), int(req.GetReplicationFactor())
	if partitions < 1 {
		return metadata.Topic{}, messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
			"topic %q: number of partitions must be at least 1, got %d", name, partitions)
	}
	if rf < 1 {
		return metadata.Topic{}, messages.Wrap(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
			"topic %q: replication factor must be at least 1, got %d", name, rf)
	}
	if err := c.checkTopicLimit(name, partitions); err != nil {
		return metadata.Topic{}, err
	}
	if _, err := metadata.ParseTopicConfig(req.GetConfigs(), c.defaults, rf); err != nil {
		return metadata.Topic{}, err
	}
	topics, err := metadata.ListTopics(ctx, c.store)
	if err != nil {
		return metadata.Topic{}, err
	}
	if t, ok := retried(topics, req); ok {
		// The attempt that created it may not have written every
		// partition state before its deadline.
		if err := metadata.CompleteStates(ctx, c.store, t); err != nil {
			return metadata.Topic{}, err
		}
		return t, nil
	}
	if err := checkNameFree(topics, name); err != nil {
		return metadata.Topic{}, err
	}
	nodes, err := c.placementNodes(ctx)
	if err != nil {
		return metadata.Topic{}, err
	}
	if rf > len(nodes) {
		return metadata.Topic{}, messages.Wrap(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
			"topic %q: replication factor %d is larger than the %d live nodes", name, rf, len(nodes))
	}
	replicas, err := placement.Assign(nodes, partitions, rf, c.startIndex(name))
	if err != nil {
		return metadata.Topic{}, err
	}
	if err := c.checkNodeLimit(name, topics, replicas); err != nil {
		return metadata.Topic{}, err
	}
	topic := metadata.Topic{
		Name:            name,
		Configs:         copyConfigs(req.GetConfigs()),
		Replicas:        replicas,
		Internal:        internal,
		CreateRequestID: req.GetRequestId(),
	}
	if req.GetValidateOnly() {
		return topic, nil
	}
	if err := metadata.CreateTopic(ctx, c.store, topic, nil); err != nil {
		if errors.Is(err, messages.ErrTopicAlreadyExists) && req.GetRequestId() != "" {
			// A retry may have raced its original: the original won.
			if t, gerr := metadata.GetTopic(ctx, c.store, name); gerr == nil && t.CreateRequestID == req.GetRequestId() {
				if err := metadata.CompleteStates(ctx, c.store, t); err != nil {
					return metadata.Topic{}, err
				}
				return t, nil
			}
		}
		return metadata.Topic{}, err
	}
	return topic, nil
}

// retried finds the topic a retry of req created: same name and the same
// non-empty request id. The client sends one id with every attempt of a
// create, so an attempt whose answer was lost (a timeout) is not reported
// as TOPIC_ALREADY_EXISTS by the next one.
func retried(topics []metadata.Topic, req *messages.CreateTopicRequest) (metadata.Topic, bool) {
	if req.GetRequestId() == "" {
		return metadata.Topic{}, false
	}
	for _, t := range topics {
		if t.Name == req.GetName() && t.CreateRequestID == req.GetRequestId() {
			return t, true
		}
	}
	return metadata.Topic{}, false
}

// checkNameFree fails when the topic exists, or when an existing topic's
// name differs only in '.' versus '_' (Kafka refuses those: their metric
// names collide).
func checkNameFree(topics []metadata.Topic, name string) error {
	colliding := metadata.CollidingName(name)
	for _, t := range topics {
		if t.Name == name {
			return messages.Wrap(messages.ErrorCode_TOPIC_ALREADY_EXISTS, "topic %q already exists", name)
		}
		if metadata.CollidingName(t.Name) == colliding {
			return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION,
				"topic %q collides with existing topic %q: names may not differ only in '.' and '_'", name, t.Name)
		}
	}
	return nil
}

// CreatePartitions grows a topic to total_count partitions, placing the new
// ones over the live members with the topic's replication factor. The count
// must grow. With validate_only nothing is written.
func (c *Controller) CreatePartitions(ctx context.Context, req *messages.CreatePartitionsRequest) *messages.CreatePartitionsResponse {
	err := c.retry(ctx, func() error {
		topic, err := metadata.GetTopic(ctx, c.store, req.GetTopic())
		if err != nil {
			return err
		}
		total := int(req.GetTotalCount())
		if total <= topic.Partitions() {
			return messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
				"topic %q has %d partitions; the new count %d must be larger", topic.Name, topic.Partitions(), total)
		}
		if err := c.checkTopicLimit(topic.Name, total); err != nil {
			return err
		}
		nodes, err := c.placementNodes(ctx)
		if err != nil {
			return err
		}
		if rf := topic.ReplicationFactor(); rf > len(nodes) {
			return messages.Wrap(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
				"topic %q: replication factor %d is larger than the %d live nodes", topic.Name, rf, len(nodes))
		}
		added, err := placement.AssignAdditional(topic.Replicas, nodes, total)
		if err != nil {
			return err
		}
		topics, err := metadata.ListTopics(ctx, c.store)
		if err != nil {
			return err
		}
		if err := c.checkNodeLimit(topic.Name, topics, added); err != nil {
			return err
		}
		if req.GetValidateOnly() {
			return nil
		}
		_, err = metadata.AddPartitions(ctx, c.store, topic, added)
		return err
	})
	if err != nil {
		return &messages.CreatePartitionsResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.CreatePartitionsResponse{}
}
