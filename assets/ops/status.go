package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// EnvironmentStatus is what runs in one environment and how it got there.
type EnvironmentStatus struct {
	Environment string     `json:"environment"`
	Account     string     `json:"account"`
	Stack       string     `json:"stack"`
	StackStatus string     `json:"stackStatus"`
	LiveVersion string     `json:"liveVersion,omitempty"`
	Commit      string     `json:"commit,omitempty"`
	DeployedAt  *time.Time `json:"deployedAt,omitempty"`
	// ApprovalWaiting is set while the environment's approval waits for a person; Link opens it.
	ApprovalWaiting bool   `json:"approvalWaiting"`
	ApprovalLink    string `json:"approvalLink,omitempty"`
	// Error says what could not be read (credentials, permissions).
	Error string `json:"error,omitempty"`
}

// StageStatus is a stage's latest execution.
type StageStatus struct {
	Stage       string     `json:"stage"`
	Status      string     `json:"status"`
	ExecutionID string     `json:"executionId,omitempty"`
	Commit      string     `json:"commit,omitempty"`
	Changed     *time.Time `json:"changed,omitempty"`
	Summary     string     `json:"summary,omitempty"`
}

// View is the whole status: every environment, then the pipeline's stages.
type View struct {
	Pipeline     string              `json:"pipeline"`
	Link         string              `json:"link"`
	Environments []EnvironmentStatus `json:"environments"`
	Stages       []StageStatus       `json:"stages"`
}

// Sources are the service responses a View is made of, as the SDK returns them.
type Sources struct {
	State      *codepipeline.GetPipelineStateOutput
	Executions []cptypes.PipelineExecutionSummary
	Actions    []cptypes.ActionExecutionDetail
	// Stacks and Aliases are by environment name; a missing stack is absent, an unreadable
	// environment has an entry in Errors.
	Stacks  map[string]*cfntypes.Stack
	Aliases map[string]*lambda.GetAliasOutput
	Errors  map[string]string
}

// Status reads the sources through the environments' profiles and builds the view.
func Status(ctx context.Context, cfg config.Config, accounts Accounts) (View, error) {
	src := Sources{Stacks: map[string]*cfntypes.Stack{}, Aliases: map[string]*lambda.GetAliasOutput{}, Errors: map[string]string{}}
	home, err := accounts.Config(ctx, ProfileOf(cfg.Environments[0].Name))
	if err != nil {
		return View{}, err
	}
	pipelines := codepipeline.NewFromConfig(home)
	if src.State, err = pipelines.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(config.PipelineName)}); err != nil {
		return View{}, fmt.Errorf("reading pipeline %s with profile %s: %w (run make preflight)", config.PipelineName, ProfileOf(cfg.Environments[0].Name), err)
	}
	execs, err := pipelines.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(config.PipelineName), MaxResults: aws.Int32(50)})
	if err != nil {
		return View{}, err
	}
	src.Executions = execs.PipelineExecutionSummaries
	actions, err := pipelines.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(config.PipelineName), MaxResults: aws.Int32(100)})
	if err != nil {
		return View{}, err
	}
	src.Actions = actions.ActionExecutionDetails
	for _, e := range cfg.Environments {
		c, err := accounts.Config(ctx, ProfileOf(e.Name))
		if err == nil {
			src.Stacks[e.Name], src.Aliases[e.Name], err = readEnvironment(ctx, c, e)
		}
		if err != nil {
			src.Errors[e.Name] = shortError(err)
		}
	}
	return BuildView(cfg, src), nil
}

// readEnvironment reads an environment's deployed stack and, when there is one, the live alias
// of its function, named after the app-name (nil when the stack has none yet).
func readEnvironment(ctx context.Context, c aws.Config, e config.Environment) (*cfntypes.Stack, *lambda.GetAliasOutput, error) {
	stack, err := describeStack(ctx, c, e.DeploymentStackName())
	if err != nil || stack == nil {
		return nil, nil, err
	}
	alias, err := lambda.NewFromConfig(c).GetAlias(ctx, &lambda.GetAliasInput{
		FunctionName: aws.String(e.AppName()), Name: aws.String(config.LiveAliasName)})
	if isNotFound(err) {
		return stack, nil, nil
	}
	return stack, alias, err
}

// BuildView turns the responses into the view: the commit behind each environment is the one
// of its deploy stage's last successful Deploy action.
func BuildView(cfg config.Config, src Sources) View {
	v := View{Pipeline: config.PipelineName, Link: pipelineLink(cfg)}
	commits := map[string]string{}
	for _, e := range src.Executions {
		if len(e.SourceRevisions) > 0 {
			commits[aws.ToString(e.PipelineExecutionId)] = shortCommit(aws.ToString(e.SourceRevisions[0].RevisionId))
		}
	}
	stages := map[string]cptypes.StageState{}
	if src.State != nil {
		for _, s := range src.State.StageStates {
			stages[aws.ToString(s.StageName)] = s
		}
	}
	for _, e := range cfg.Environments {
		st := EnvironmentStatus{Environment: e.Name, Account: e.Account, Stack: e.DeploymentStackName(), StackStatus: "not deployed", Error: src.Errors[e.Name]}
		if stack := src.Stacks[e.Name]; stack != nil {
			st.StackStatus = string(stack.StackStatus)
		}
		if alias := src.Aliases[e.Name]; alias != nil {
			st.LiveVersion = aws.ToString(alias.FunctionVersion)
		}
		// ListActionExecutions returns the newest first.
		for _, a := range src.Actions {
			if aws.ToString(a.StageName) == e.DeployStage() && aws.ToString(a.ActionName) == "Deploy" && a.Status == cptypes.ActionExecutionStatusSucceeded {
				st.Commit = commits[aws.ToString(a.PipelineExecutionId)]
				st.DeployedAt = a.LastUpdateTime
				break
			}
		}
		if approval, ok := stages[e.ApproveStage()]; ok {
			for _, a := range approval.ActionStates {
				if a.LatestExecution != nil && a.LatestExecution.Status == cptypes.ActionExecutionStatusInProgress {
					st.ApprovalWaiting = true
					st.ApprovalLink = v.Link
				}
			}
		}
		v.Environments = append(v.Environments, st)
	}
	if src.State != nil {
		for _, s := range src.State.StageStates {
			ss := StageStatus{Stage: aws.ToString(s.StageName), Status: "never run"}
			if s.LatestExecution != nil {
				ss.Status = string(s.LatestExecution.Status)
				ss.ExecutionID = aws.ToString(s.LatestExecution.PipelineExecutionId)
				ss.Commit = commits[ss.ExecutionID]
			}
			for _, a := range s.ActionStates {
				if a.LatestExecution == nil {
					continue
				}
				if t := a.LatestExecution.LastStatusChange; t != nil && (ss.Changed == nil || t.After(*ss.Changed)) {
					ss.Changed = t
				}
				if a.LatestExecution.Status == cptypes.ActionExecutionStatusFailed && a.LatestExecution.ErrorDetails != nil {
					ss.Summary = aws.ToString(a.ActionName) + ": " + aws.ToString(a.LatestExecution.ErrorDetails.Message)
				}
			}
			v.Stages = append(v.Stages, ss)
		}
	}
	return v
}

func pipelineLink(cfg config.Config) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codepipeline/pipelines/%s/view?region=%s", cfg.Region, config.PipelineName, cfg.Region)
}

func shortCommit(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Write prints the view as two tables (environments, then stages), or as JSON.
func (v View) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tACCOUNT\tSTACK\tLIVE VERSION\tCOMMIT\tDEPLOYED\tAPPROVAL")
	for _, e := range v.Environments {
		approval := "-"
		if e.ApprovalWaiting {
			approval = "waiting: " + e.ApprovalLink
		}
		status := e.StackStatus
		if e.Error != "" {
			status = "unreadable: " + e.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Environment, e.Account, status, dash(e.LiveVersion), dash(e.Commit), when(e.DeployedAt), approval)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "STAGE (%s)\tLAST RUN\tCOMMIT\tCHANGED\tDETAIL\n", v.Pipeline)
	for _, s := range v.Stages {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Stage, s.Status, dash(s.Commit), when(s.Changed), dash(s.Summary))
	}
	return tw.Flush()
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
