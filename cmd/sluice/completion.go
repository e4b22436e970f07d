package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds the cluster lookup of one shell completion.
const completionTimeout = 3 * time.Second

// addNameCompletion makes the shell complete the TOPIC or GROUP argument
// of every command under root from the cluster's names (cobra's
// `sluice completion bash|zsh|fish|powershell` prints the scripts), and
// the --topic flag of commands that take one.
func (a *app) addNameCompletion(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		args := strings.Fields(cmd.Use)
		if len(args) > 1 && cmd.ValidArgsFunction == nil {
			switch args[1] {
			case "TOPIC":
				cmd.ValidArgsFunction = a.completeFirst(a.topicNames)
			case "GROUP":
				cmd.ValidArgsFunction = a.completeFirst(a.groupNames)
			}
		}
		if cmd.Flags().Lookup("topic") != nil {
			_ = cmd.RegisterFlagCompletionFunc("topic", a.completeFirst(a.topicNames))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeFirst completes the first argument with names; later arguments
// get no completion.
func (a *app) completeFirst(names func(context.Context) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 && cmd.Flags().Lookup("topic") == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		all, err := names(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []string
		for _, n := range all {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func (a *app) topicNames(ctx context.Context) ([]string, error) {
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	defer a.closeClient(c)
	topics, err := c.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	return names, nil
}

func (a *app) groupNames(ctx context.Context) ([]string, error) {
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	defer a.closeClient(c)
	groups, err := c.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.GroupID
	}
	return names, nil
}
