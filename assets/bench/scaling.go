package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// shippedConfig is the config of cdk.json's placeholder accounts, as `make synth` uses it.
func shippedConfig() (config.Config, error) {
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		return config.Config{}, err
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return config.Config{}, err
	}
	return config.NewConfig(file.Context)
}

// synthWithEnvironments synthesizes the app with n environments in this process, the way
// `cdk synth` runs it, with cdk.json's feature flags and the built-in validation on. The first
// environment is cdk.json's pipeline account; the others share its second account (so one
// roles stack grows with them), the last named prod.
func synthWithEnvironments(n int) error {
	defer jsii.Close()
	cfg, err := shippedConfig()
	if err != nil {
		return err
	}
	envs := []config.Environment{cfg.Environments[0]}
	for i := 1; i < n; i++ {
		e := config.Environment{Name: fmt.Sprintf("stage%d", i), Account: cfg.Environments[len(cfg.Environments)-1].Account, Traffic: config.TrafficCanary}
		if i == n-1 {
			e.Name, e.Approval = "prod", true
		}
		envs = append(envs, e)
	}
	cfg.Environments = envs
	ctx, err := config.CDKJSONContext("cdk.json")
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
	app.Synth(nil)
	return nil
}
