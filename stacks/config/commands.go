package config

import (
	"encoding/json"
	"strings"
)

// RolesUpdateCommand is the make command that deploys the roles stack of account as this
// config synthesizes it, with the pipeline's artifact key (when known): what an administrator
// of that account runs when Check_Roles or the preflight finds the stack stale.
func RolesUpdateCommand(cfg Config, account, keyArn string) string {
	envs := EnvironmentsIn(cfg, account)
	named := envs[0]
	for _, e := range envs {
		if RolesStackID([]Environment{e}) == RolesStackID(envs) {
			named = e
		}
	}
	cmd := "make deploy-roles ENV=" + named.Name
	if cfg.Shorthand {
		cmd = "make deploy-prod-roles"
	}
	cmd += " " + MakeVariables(cfg)
	if keyArn != "" {
		cmd += " KEY_ARN=" + keyArn
	}
	return cmd
}

// MakeVariables are the make variables that give the Makefile this config's environments and
// region, so a printed command works on a machine whose cdk.json holds the placeholders.
func MakeVariables(cfg Config) string {
	var args []string
	if cfg.Shorthand {
		args = append(args, "DEV_ACCOUNT="+cfg.Environments[0].Account, "PROD_ACCOUNT="+cfg.Environments[1].Account)
		if !cfg.Environments[1].Approval {
			args = append(args, "PROD_APPROVAL=false")
		}
	} else {
		args = append(args, "ENVIRONMENTS='"+EnvironmentsJSON(cfg.Environments)+"'")
	}
	return strings.Join(append(args, "REGION="+cfg.Region), " ")
}

// environmentsJSON writes environments in the form of the environments key.
func EnvironmentsJSON(envs []Environment) string {
	type entry struct {
		Name     string            `json:"name"`
		Account  string            `json:"account"`
		Approval bool              `json:"approval"`
		Traffic  Traffic           `json:"traffic"`
		Window   *DeploymentWindow `json:"deployment-window,omitempty"`
	}
	out := make([]entry, len(envs))
	for i, e := range envs {
		out[i] = entry{e.Name, e.Account, e.Approval, e.Traffic, e.Window}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
