package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// RemoteAccounts lists the accounts other than the pipeline's, in the order their first
// environment deploys.
func RemoteAccounts(cfg Config) []string {
	var out []string
	for _, e := range cfg.Environments {
		if e.Account != cfg.PipelineAccount() && !slices.Contains(out, e.Account) {
			out = append(out, e.Account)
		}
	}
	return out
}

// EnvironmentsIn lists the environments that deploy to an account, in deployment order.
func EnvironmentsIn(cfg Config, account string) []Environment {
	var out []Environment
	for _, e := range cfg.Environments {
		if e.Account == account {
			out = append(out, e)
		}
	}
	return out
}

// ModuleRoot finds the folder holding go.mod, so asset paths work both from `cdk synth` (run at
// the root) and from `go test` (run in the package folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run the app from inside the repository", dir)
		}
	}
}
