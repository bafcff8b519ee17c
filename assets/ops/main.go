// Command ops answers two questions about a deployed (or about to be deployed) pipeline with
// the AWS SDK, through the same profiles and configuration as the Makefile's deploy targets:
//
//	go run ./assets/ops preflight [-json] [-c key=value ...]   is every account ready to deploy?
//	go run ./assets/ops status [-json] [-c key=value ...]      what is deployed where, and what is the pipeline doing?
//
// The configuration is cdk.json's, replaced by -c pairs, as `cdk synth` reads it. Each
// environment's AWS profile is $<NAME>_PROFILE (DEV_PROFILE, STAGING_PROFILE, ...) when set,
// else the environment's name. Exit codes: 0 ready (or status shown), 1 problems found, 2 the
// command or configuration is wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "preflight" && args[0] != "status") {
		fmt.Fprintln(stderr, "usage: ops preflight|status [-json] [-c key=value ...]")
		return 2
	}
	command := args[0]
	flags := flag.NewFlagSet(command, flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "print JSON for machines instead of the table")
	before := flags.String("before", "", "preflight: the make target about to run (deploy, bootstrap, deploy-roles, deploy-repository, deploy-pipeline)")
	envName := flags.String("env", "", "preflight: the environment of deploy-roles")
	profile := flags.String("profile", "", "preflight: the profile of -env, instead of $<NAME>_PROFILE")
	var contextArgs []string
	flags.Func("c", "context key=value, as for cdk synth (repeatable)", func(kv string) error {
		contextArgs = append(contextArgs, "-c", kv)
		return nil
	})
	if err := flags.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := config.LoadConfigFromArgs(contextArgs)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	accounts := sdkAccounts{region: cfg.Region}
	// A hung endpoint must not hang a deploy.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// fail prints err and returns the exit code.
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, err)
		return code
	}
	if command == "preflight" {
		report, err := Preflight(ctx, cfg, accounts, Options{Before: *before, Env: *envName, Profile: *profile})
		if err == nil {
			err = report.Write(stdout, *asJSON)
		}
		if err != nil {
			return fail(2, err)
		}
		if !report.Ready {
			return 1
		}
		return 0
	}
	view, err := Status(ctx, cfg, accounts)
	if err != nil {
		return fail(1, err)
	}
	if err := view.Write(stdout, *asJSON); err != nil {
		return fail(2, err)
	}
	return 0
}

// Accounts gives the AWS configuration of an environment's profile.
type Accounts interface {
	// Config returns the SDK configuration of profile, in the pipeline's region.
	Config(ctx context.Context, profile string) (aws.Config, error)
}

// sdkAccounts loads shared-config profiles, as the AWS CLI in the Makefile does.
type sdkAccounts struct{ region string }

func (a sdkAccounts) Config(ctx context.Context, profile string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile(profile), awsconfig.WithRegion(a.region))
}

// ProfileOf is the AWS profile of an environment: $<NAME>_PROFILE, else its name (as the
// Makefile's profile_of).
func ProfileOf(env string) string {
	if p := os.Getenv(strings.ToUpper(env) + "_PROFILE"); p != "" {
		return p
	}
	return env
}

// usesEmulator reports whether a configuration points at a custom endpoint (an emulator),
// where S3 needs path-style addresses.
func usesEmulator(c aws.Config) bool { return c.BaseEndpoint != nil }

// isNotFound tells the "does not exist" answers of the services apart from failures: a check
// must never read an expired token or a wrong region as "absent".
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		switch coded.ErrorCode() {
		case "NoSuchEntity", "NotFound", "NoSuchBucket", "ParameterNotFound", "RepositoryDoesNotExistException",
			"ResourceNotFoundException":
			return true
		case "ValidationError":
			return strings.Contains(err.Error(), "does not exist")
		}
	}
	return false
}
