package config

import (
	"fmt"
	"strings"
)

// ResourceKind is what kind of AWS resource a retained resource is, which says how to find it
// and how to delete it.
type ResourceKind string

// The kinds of resource the app retains.
const (
	KindBucket     ResourceKind = "bucket"
	KindLogGroup   ResourceKind = "log-group"
	KindRepository ResourceKind = "repository"
)

// RetainedResource is a resource that outlives its stack under a fixed name: kept when the stack
// is deleted (never when a create rolls back), it blocks the next create of that stack until it
// is gone.
type RetainedResource struct {
	Kind ResourceKind
	Name string
	// Env is the environment whose account holds the resource (and whose profile reaches it).
	Env Environment
	// Stack is the stack that creates it, and whose next create it would block.
	Stack string
	// Purged says that `make purge` deletes it after `make destroy`. The repository is the team's
	// history: only a person deletes it, by hand.
	Purged bool
}

// Retained is the one list of what the app retains. The templates' DeletionPolicy must agree
// with it (a test compares them), and `make purge`, the preflight's leftovers check, the
// rehearsal and the README's Cleanup section all read it (through `cdk-app retained`):
// a new retained resource is added here and nowhere else.
//
// The first environment's log group is not on it: that environment's stack is replaced when it
// fails, so it deletes its log group with it.
func Retained(cfg Config) []RetainedResource {
	home := cfg.Environments[0]
	out := []RetainedResource{{Kind: KindBucket, Name: ArtifactBucketName(home.Account), Env: home, Stack: PipelineStackID, Purged: true}}
	for _, e := range cfg.Environments[1:] {
		out = append(out, RetainedResource{Kind: KindLogGroup, Name: e.LogGroupName(), Env: e, Stack: e.DeploymentStackName(), Purged: true})
	}
	return append(out, RetainedResource{Kind: KindRepository, Name: cfg.RepositoryName, Env: home, Stack: RepositoryStackID})
}

// RetainedList describes Retained(cfg) one resource per line, tab-separated, for the Makefile:
// kind, name, environment, account, stack, and "purge" or "keep".
func RetainedList(cfg Config) string {
	var b strings.Builder
	for _, r := range Retained(cfg) {
		action := "keep"
		if r.Purged {
			action = "purge"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Kind, r.Name, r.Env.Name, r.Env.Account, r.Stack, action)
	}
	return b.String()
}
