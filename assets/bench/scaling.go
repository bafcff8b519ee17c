package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks"
)

// benchConfig uses obvious test accounts; the scaling run never deploys anything.
var benchConfig = stacks.Config{
	DevAccountID:   "111111111111",
	ProdAccountID:  "222222222222",
	Region:         "us-east-1",
	RepositoryName: "bench",
	Branch:         "main",
}

// synthWithExtraStages synthesizes the app plus extra application stages in this process, the
// way `cdk synth` runs it, with cdk.json's feature flags and the built-in validation on.
func synthWithExtraStages(extra int) error {
	defer jsii.Close()
	ctx, err := stacks.CDKJSONContext("cdk.json")
	if err != nil {
		return err
	}
	outdir, err := os.MkdirTemp("", "bench-synth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(outdir)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
	if _, err := stacks.Build(app, benchConfig); err != nil {
		return err
	}
	for i := range extra {
		stage := fmt.Sprintf("extra%d", i)
		stacks.NewApplicationStack(app, "Extra"+fmt.Sprint(i)+"ApplicationStack", stacks.ApplicationStackProps{
			Target: stacks.Target{Account: benchConfig.DevAccountID, Region: benchConfig.Region}, Stage: stage,
		})
	}
	app.Synth(nil)
	return nil
}
