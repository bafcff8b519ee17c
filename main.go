// Command cross-account-pipeline is the CDK app: `cdk synth` runs it to produce the templates.
//
// `cdk-app environments [-c key=value ...]` prints the configured environments instead, one per
// line (stacks.Roster), for the Makefile targets that act on every environment.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	if len(os.Args) > 1 && os.Args[1] == "environments" {
		cfg, err := stacks.LoadConfigFromArgs(os.Args[2:])
		if err != nil {
			return err
		}
		fmt.Print(stacks.Roster(cfg))
		return nil
	}
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
