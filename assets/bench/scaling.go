package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks"
)

// shippedConfig is the config of cdk.json's placeholder accounts, as `make synth` uses it.
func shippedConfig() (stacks.Config, error) {
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		return stacks.Config{}, err
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return stacks.Config{}, err
	}
	return stacks.NewConfig(file.Context)
}

// synthWithExtraStages synthesizes the app plus extra application stages in this process, the
// way `cdk synth` runs it, with cdk.json's feature flags and the built-in validation on.
func synthWithExtraStages(extra int) error {
	defer jsii.Close()
	cfg, err := shippedConfig()
	if err != nil {
		return err
	}
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
	if _, err := stacks.Build(app, cfg); err != nil {
		return err
	}
	for i := range extra {
		stage := fmt.Sprintf("extra%d", i)
		stacks.NewApplicationStack(app, "Extra"+fmt.Sprint(i)+"ApplicationStack", stacks.ApplicationStackProps{
			Target: stacks.Target{Account: cfg.DevAccountID, Region: cfg.Region}, Stage: stage,
		})
	}
	app.Synth(nil)
	return nil
}
