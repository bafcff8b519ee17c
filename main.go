// Command cross-account-pipeline is the CDK app: `cdk synth` runs it to produce the templates.
//
// `cdk-app environments [-c key=value ...]` prints the configured environments instead, one per
// line (config.Roster), and `cdk-app retained` what outlives its stack (config.Retained), for
// the Makefile targets that act on every environment.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 {
		return describe(os.Args[1], os.Args[2:])
	}
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := stacks.LoadConfig(app)
	if err != nil {
		return err
	}
	if _, err := stacks.Build(app, cfg); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// describe prints what the Makefile's operational targets iterate, from the config that a synth
// with the same -c flags would use; it starts no jsii runtime.
func describe(command string, args []string) error {
	lists := map[string]func(config.Config) string{"environments": config.Roster, "retained": config.RetainedList}
	list, ok := lists[command]
	if !ok {
		return fmt.Errorf("unknown command %q: cdk-app synthesizes with no arguments, or prints `environments` or `retained` [-c key=value ...]", command)
	}
	cfg, err := config.LoadConfigFromArgs(args)
	if err != nil {
		return err
	}
	fmt.Print(list(cfg))
	return nil
}
