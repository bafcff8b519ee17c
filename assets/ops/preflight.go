package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// MinBootstrapVersion is the oldest CDK bootstrap stack the pipeline stack deploys with: its
// CheckBootstrapVersion rule rejects 1-5 (a test reads the rule from the golden template).
const MinBootstrapVersion = 6

// bootstrapVersionParameter is where `cdk bootstrap` records its version, for the default
// qualifier the app synthesizes with.
const bootstrapVersionParameter = "/cdk-bootstrap/hnb659fds/version"

// Check is the outcome of one check: passed, or a problem with the command that fixes it.
type Check struct {
	Name        string `json:"check"`
	Environment string `json:"environment,omitempty"`
	Account     string `json:"account"`
	OK          bool   `json:"ok"`
	Message     string `json:"message"`
	Fix         string `json:"fix,omitempty"`
	// deployable marks a problem that the deploy targets fix themselves (something not yet
	// deployed), as opposed to one they cannot (a read that failed, a leftover).
	deployable bool
}

// Report is every check of a preflight; Ready when none found a problem.
type Report struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

func (r *Report) pass(name, env, account, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Environment: env, Account: account, OK: true, Message: fmt.Sprintf(format, args...)})
}

func (r *Report) fail(name, env, account, fix, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Environment: env, Account: account, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// missing reports something a deploy target creates or updates (see Options.Before).
func (r *Report) missing(name, env, account, fix, format string, args ...any) {
	r.fail(name, env, account, fix, format, args...)
	r.Checks[len(r.Checks)-1].deployable = true
}

// Write prints the report: every check, problems with their fix, and a last line that says
// whether to go on; or the same as JSON.
func (r Report) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	problems := 0
	for _, c := range r.Checks {
		where := c.Account
		if c.Environment != "" {
			where = c.Environment + ", " + c.Account
		}
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
			problems++
		}
		fmt.Fprintf(w, "%s %-12s (%s) %s\n", mark, c.Name, where, c.Message)
		if c.Fix != "" {
			fmt.Fprintf(w, "     fix: %s\n", c.Fix)
		}
	}
	if problems == 0 {
		_, err := fmt.Fprintln(w, "ready: every account is set up for make deploy")
		return err
	}
	_, err := fmt.Fprintf(w, "not ready: %d problem(s) above; fix them before deploying\n", problems)
	return err
}

// session is an environment's profile, resolved and checked.
type session struct {
	env     config.Environment
	profile string
	cfg     aws.Config
	// partition is the ARN partition the profile signs in to (aws, aws-cn, aws-us-gov).
	partition string
}

// Options narrow a preflight to what one make target needs.
type Options struct {
	// Before is the make target about to run ("" for the whole check): its accounts are
	// checked, and what it fixes by itself (the bootstrap, a roles stack) is no problem.
	Before string
	// Env is the environment of deploy-roles.
	Env string
	// Profile, when set, is the profile of Env (make deploy-roles PROFILE=...).
	Profile string
}

// target is what the preflight must know of a make target: whether it needs only the pipeline's
// account and which checks' problems it fixes itself.
type target struct {
	homeOnly bool
	// remoteOptional checks other accounts where their profiles work: deploy-pipeline needs
	// their roles stacks, but whoever deploys the pipeline may hold no credentials there.
	remoteOptional bool
	fixes          []string
}

// targets are the make targets that run the preflight first.
var targets = map[string]target{
	"":                  {},
	"deploy":            {fixes: []string{"bootstrap", "roles"}},
	"bootstrap":         {homeOnly: true, fixes: []string{"bootstrap"}},
	"deploy-repository": {homeOnly: true},
	"deploy-pipeline":   {remoteOptional: true},
	"deploy-roles":      {fixes: []string{"roles"}},
}

// Preflight checks the accounts and environments, reporting every problem at once.
func Preflight(ctx context.Context, cfg config.Config, accounts Accounts, opts Options) (Report, error) {
	target, ok := targets[opts.Before]
	if !ok {
		return Report{}, fmt.Errorf("-before %q: not a deploy target; use deploy, bootstrap, deploy-roles, deploy-repository or deploy-pipeline", opts.Before)
	}
	r := &Report{}
	home := cfg.PipelineAccount()
	inScope := func(e config.Environment) bool {
		switch {
		case target.homeOnly:
			return e.Account == home
		case opts.Before == "deploy-roles":
			for _, x := range cfg.Environments {
				if x.Name == opts.Env {
					return e.Account == x.Account
				}
			}
			return false
		}
		return true
	}
	if opts.Before == "deploy-roles" && !slices.ContainsFunc(cfg.Environments, func(e config.Environment) bool { return e.Name == opts.Env }) {
		return Report{}, fmt.Errorf("-env %q: no environment has that name", opts.Env)
	}
	sessions, byAccount := openSessions(ctx, r, cfg, accounts, opts, target, inScope)
	keyArn, pipelineExists := "", false
	if homeSession, ok := byAccount[home]; ok {
		checkBootstrap(ctx, r, cfg, homeSession)
		keyArn, pipelineExists = checkPipeline(ctx, r, cfg, homeSession)
		checkRepository(ctx, r, cfg, homeSession)
		checkLeftovers(ctx, r, cfg, sessions)
		if pipelineExists && keyArn != "" {
			checkPrincipals(ctx, r, cfg, homeSession, keyArn)
		}
	}
	for _, account := range config.RemoteAccounts(cfg) {
		if s, ok := byAccount[account]; ok {
			checkRoles(ctx, r, cfg, s, account, keyArn, pipelineExists)
		}
	}
	r.settle(target, opts.Before)
	return *r, nil
}

// settle counts as passed what the target itself fixes (make deploy bootstraps), and decides
// whether the accounts are ready.
func (r *Report) settle(target target, before string) {
	r.Ready = true
	for i, c := range r.Checks {
		if !c.OK && c.deployable && slices.Contains(target.fixes, c.Name) {
			r.Checks[i].OK = true
			r.Checks[i].Message += "; make " + before + " does that now"
			r.Checks[i].Fix = ""
		}
		r.Ready = r.Ready && r.Checks[i].OK
	}
}

// openSessions signs in to every environment in scope with its profile, reporting each profile
// that cannot, or that signs in to another account. It returns the sessions by environment name
// and, for each account, the first environment's.
func openSessions(ctx context.Context, r *Report, cfg config.Config, accounts Accounts, opts Options, target target,
	inScope func(config.Environment) bool) (map[string]session, map[string]session) {
	home := cfg.PipelineAccount()
	sessions := map[string]session{} // by environment name, for those whose profile is right
	byAccount := map[string]session{}
	for _, e := range cfg.Environments {
		if !inScope(e) {
			continue
		}
		profile := ProfileOf(e.Name)
		if opts.Profile != "" && slices.ContainsFunc(cfg.Environments, func(x config.Environment) bool { return x.Name == opts.Env && x.Account == e.Account }) {
			profile = opts.Profile // PROFILE= names the account's profile, for every environment there
		}
		envVar := strings.ToUpper(e.Name) + "_PROFILE"
		optional := target.remoteOptional && e.Account != home
		c, err := accounts.Config(ctx, profile)
		if err == nil && optional {
			_, err = sts.NewFromConfig(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		}
		if err != nil && optional {
			r.pass("credentials", e.Name, e.Account, "not checked: profile %s does not sign in (%v); make sure %s exists before the pipeline",
				profile, shortError(err), config.RolesStackID(config.EnvironmentsIn(cfg, e.Account)))
			continue
		}
		if err != nil {
			r.fail("credentials", e.Name, e.Account, fmt.Sprintf("aws configure --profile %s  (or set %s to a profile of account %s)", profile, envVar, e.Account),
				"profile %s cannot be loaded: %v", profile, err)
			continue
		}
		id, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		switch {
		case err != nil:
			r.fail("credentials", e.Name, e.Account, fmt.Sprintf("aws sso login --profile %s  (or aws configure --profile %s)", profile, profile),
				"profile %s has no working credentials in %s: %v", profile, cfg.Region, shortError(err))
			continue
		case aws.ToString(id.Account) != e.Account:
			r.fail("credentials", e.Name, e.Account,
				fmt.Sprintf("set %s to a profile of account %s, or correct the account of %s in the configuration", envVar, e.Account, e.Name),
				"profile %s signs in to account %s, not %s", profile, aws.ToString(id.Account), e.Account)
			continue
		}
		r.pass("credentials", e.Name, e.Account, "profile %s is %s", profile, aws.ToString(id.Arn))
		partition, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(id.Arn), "arn:"), ":")
		s := session{env: e, profile: profile, cfg: c, partition: partition}
		sessions[e.Name] = s
		if _, ok := byAccount[e.Account]; !ok {
			byAccount[e.Account] = s
		}
	}

	return sessions, byAccount
}

func checkBootstrap(ctx context.Context, r *Report, cfg config.Config, s session) {
	fix := "make bootstrap " + config.MakeVariables(cfg)
	out, err := ssm.NewFromConfig(s.cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(bootstrapVersionParameter)})
	switch {
	case isNotFound(err):
		r.missing("bootstrap", s.env.Name, s.env.Account, fix, "account %s is not CDK-bootstrapped in %s (no %s)", s.env.Account, cfg.Region, bootstrapVersionParameter)
		return
	case err != nil:
		r.fail("bootstrap", s.env.Name, s.env.Account, "check the permissions of profile "+s.profile, "cannot read %s: %v", bootstrapVersionParameter, shortError(err))
		return
	}
	v, err := strconv.Atoi(aws.ToString(out.Parameter.Value))
	if err != nil || v < MinBootstrapVersion {
		r.missing("bootstrap", s.env.Name, s.env.Account, fix, "bootstrap version %s is older than %d, which the pipeline stack needs", aws.ToString(out.Parameter.Value), MinBootstrapVersion)
		return
	}
	r.pass("bootstrap", s.env.Name, s.env.Account, "bootstrap version %d (needs %d or later); no other account needs a bootstrap", v, MinBootstrapVersion)
}

// describeStack returns the stack, nil when it does not exist, or an error.
func describeStack(ctx context.Context, c aws.Config, name string) (*cfntypes.Stack, error) {
	out, err := cloudformation.NewFromConfig(c).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.Stacks) == 0 || out.Stacks[0].StackStatus == cfntypes.StackStatusDeleteComplete {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// checkPipeline reads the pipeline stack: whether it exists, and its artifact key's ARN.
func checkPipeline(ctx context.Context, r *Report, cfg config.Config, s session) (keyArn string, exists bool) {
	stack, err := describeStack(ctx, s.cfg, config.PipelineStackID)
	if err != nil {
		r.fail("pipeline", s.env.Name, s.env.Account, "check the permissions of profile "+s.profile, "cannot read %s: %v", config.PipelineStackID, shortError(err))
		return "", false
	}
	if stack == nil {
		r.pass("pipeline", s.env.Name, s.env.Account, "%s does not exist yet; make deploy-pipeline creates it", config.PipelineStackID)
		return "", false
	}
	events := fmt.Sprintf("aws cloudformation describe-stack-events --stack-name %s --profile %s --region %s", config.PipelineStackID, s.profile, cfg.Region)
	switch status := string(stack.StackStatus); {
	case stack.StackStatus == cfntypes.StackStatusRollbackComplete:
		// A failed first create: the stack holds nothing and cannot be updated.
		r.fail("pipeline", s.env.Name, s.env.Account,
			fmt.Sprintf("aws cloudformation delete-stack --stack-name %s --profile %s --region %s", config.PipelineStackID, s.profile, cfg.Region),
			"%s is ROLLBACK_COMPLETE after a failed first create and cannot be updated", config.PipelineStackID)
		return "", false
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		r.fail("pipeline", s.env.Name, s.env.Account, "wait for it to finish: "+events, "%s is %s", config.PipelineStackID, status)
	case strings.HasSuffix(status, "_FAILED"):
		r.fail("pipeline", s.env.Name, s.env.Account, "read why, then continue the rollback or delete: "+events, "%s is %s", config.PipelineStackID, status)
	}
	for _, o := range stack.Outputs {
		if aws.ToString(o.OutputKey) == config.ArtifactKeyArnOutput {
			keyArn = aws.ToString(o.OutputValue)
		}
	}
	if !strings.HasSuffix(string(stack.StackStatus), "_IN_PROGRESS") && !strings.HasSuffix(string(stack.StackStatus), "_FAILED") {
		r.pass("pipeline", s.env.Name, s.env.Account, "%s is %s", config.PipelineStackID, stack.StackStatus)
	}
	return keyArn, true
}

func checkRepository(ctx context.Context, r *Report, cfg config.Config, s session) {
	if cfg.UsesGitHub() {
		out, err := codeconnections.NewFromConfig(s.cfg).GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: aws.String(cfg.ConnectionArn)})
		switch {
		case isNotFound(err):
			r.fail("repository", s.env.Name, s.env.Account, "create a connection to GitHub (Developer Tools > Settings > Connections) and set github-connection-arn to its ARN",
				"the connection %s does not exist", cfg.ConnectionArn)
		case err != nil:
			r.fail("repository", s.env.Name, s.env.Account, "check the permissions of profile "+s.profile, "cannot read the connection: %v", shortError(err))
		case out.Connection.ConnectionStatus != "AVAILABLE":
			r.fail("repository", s.env.Name, s.env.Account, "finish the connection's handshake with GitHub in the console (Developer Tools > Settings > Connections > Update pending connection)",
				"the connection is %s, not AVAILABLE", out.Connection.ConnectionStatus)
		default:
			r.pass("repository", s.env.Name, s.env.Account, "connection to GitHub is AVAILABLE for %s", cfg.GitHubRepository)
		}
		return
	}
	_, err := codecommit.NewFromConfig(s.cfg).GetRepository(ctx, &codecommit.GetRepositoryInput{RepositoryName: aws.String(cfg.RepositoryName)})
	switch {
	case isNotFound(err):
		r.pass("repository", s.env.Name, s.env.Account, "CodeCommit repository %s does not exist yet; make deploy-repository creates it", cfg.RepositoryName)
	case err != nil && !answeredOK(err):
		r.fail("repository", s.env.Name, s.env.Account, "check the permissions of profile "+s.profile, "cannot read repository %s: %v", cfg.RepositoryName, shortError(err))
	default:
		r.pass("repository", s.env.Name, s.env.Account, "CodeCommit repository %s exists", cfg.RepositoryName)
	}
}

// answeredOK reports an error whose HTTP response was 200: the service found what was asked
// for, and only a field of the answer could not be decoded (an emulator that writes dates as
// text, say). For an existence check that is still "it exists".
func answeredOK(err error) bool {
	var resp *awshttp.ResponseError
	return errors.As(err, &resp) && resp.HTTPStatusCode() == 200
}

// checkLeftovers finds what an earlier install retained under the names this one will create
// (config.Retained): each would fail its stack's create with "already exists". A resource whose
// stack exists is that stack's own; the repository is meant to be reused.
func checkLeftovers(ctx context.Context, r *Report, cfg config.Config, sessions map[string]session) {
	fix := "make purge " + config.MakeVariables(cfg) + "  (after make destroy; it deletes what an earlier install retained)"
	for _, res := range config.Retained(cfg) {
		s, ok := sessions[res.Env.Name]
		if !ok || !res.Purged {
			continue
		}
		stack, err := describeStack(ctx, s.cfg, res.Stack)
		if err != nil {
			r.fail("leftovers", res.Env.Name, res.Env.Account, "check the permissions of profile "+s.profile,
				"cannot read %s to tell whether %s %s is its own: %v", res.Stack, res.Kind, res.Name, shortError(err))
			continue
		}
		if holdsResources(stack) {
			continue // deployed: the resource is its own
		}
		found, err := exists(ctx, s, res)
		switch {
		case err != nil:
			r.fail("leftovers", res.Env.Name, res.Env.Account, "check the permissions of profile "+s.profile, "cannot check %s %s: %v", res.Kind, res.Name, shortError(err))
		case found:
			r.fail("leftovers", res.Env.Name, res.Env.Account, fix, "%s %s is left from an earlier install and would block %s's create", res.Kind, res.Name, res.Stack)
		default:
			r.pass("leftovers", res.Env.Name, res.Env.Account, "no %s %s in the way", res.Kind, res.Name)
		}
	}
}

// holdsResources reports whether a stack may own resources. One left in ROLLBACK_COMPLETE by a
// failed first create, or in REVIEW_IN_PROGRESS by a change set never executed, holds none: a
// resource under its fixed name is a leftover, and the very one that made the create fail.
func holdsResources(stack *cfntypes.Stack) bool {
	return stack != nil && stack.StackStatus != cfntypes.StackStatusRollbackComplete && stack.StackStatus != cfntypes.StackStatusReviewInProgress
}

// exists looks a retained resource up by its name.
func exists(ctx context.Context, s session, res config.RetainedResource) (bool, error) {
	switch res.Kind {
	case config.KindBucket:
		_, err := s3.NewFromConfig(s.cfg, func(o *s3.Options) { o.UsePathStyle = usesEmulator(s.cfg) }).
			HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(res.Name)})
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, err
	case config.KindLogGroup:
		out, err := cloudwatchlogs.NewFromConfig(s.cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(res.Name)})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(out.LogGroups, func(g cwltypes.LogGroup) bool { return aws.ToString(g.LogGroupName) == res.Name }), nil
	}
	return false, fmt.Errorf("the preflight does not know how to look up a %s", res.Kind)
}

// checkRoles checks the roles stack of another account: that it exists once the pipeline does,
// carries the pipeline's key, and holds roles that trust this pipeline.
func checkRoles(ctx context.Context, r *Report, cfg config.Config, s session, account, keyArn string, pipelineExists bool) {
	envs := config.EnvironmentsIn(cfg, account)
	id := config.RolesStackID(envs)
	fix := config.RolesUpdateCommand(cfg, account, keyArn)
	stack, err := describeStack(ctx, s.cfg, id)
	switch {
	case err != nil:
		r.fail("roles", s.env.Name, account, "check the permissions of profile "+s.profile, "cannot read %s: %v", id, shortError(err))
		return
	case stack == nil && pipelineExists:
		r.missing("roles", s.env.Name, account, fix, "%s does not exist, so the pipeline cannot deploy to account %s", id, account)
		return
	case stack == nil:
		r.missing("roles", s.env.Name, account, fix, "%s does not exist; the pipeline stack's policies name its roles, so deploy it first", id)
		return
	}
	if pipelineExists && keyArn == "" {
		r.pass("roles", s.env.Name, account, "%s exists; the pipeline stack has no artifact key output yet to compare", id)
	} else if pipelineExists {
		given := ""
		for _, p := range stack.Parameters {
			if aws.ToString(p.ParameterKey) == config.ArtifactKeyArnParameter {
				given = aws.ToString(p.ParameterValue)
			}
		}
		if given != keyArn {
			shown := given
			if shown == "" {
				shown = "empty"
			}
			r.missing("roles", s.env.Name, account, fix, "%s has %s %s, not the pipeline's key %s: the roles cannot read the artifacts", id, config.ArtifactKeyArnParameter, shown, keyArn)
		} else {
			r.pass("roles", s.env.Name, account, "%s carries the pipeline's artifact key", id)
		}
	}
	// The ARNs are matched with their closing quote: one role's name is a prefix of the other's.
	pipelineRole := fmt.Sprintf("arn:%s:iam::%s:role/%s", s.partition, cfg.PipelineAccount(), config.PipelineRoleName)
	checkRole := fmt.Sprintf("arn:%s:iam::%s:role/%s", s.partition, cfg.PipelineAccount(), config.RolesCheckRoleName)
	trust, err := roleTrust(ctx, s.cfg, config.CrossAccountRoleName)
	switch {
	case isNotFound(err):
		r.missing("roles", s.env.Name, account, fix, "%s has no role %s", id, config.CrossAccountRoleName)
	case err != nil:
		r.fail("roles", s.env.Name, account, "check the permissions of profile "+s.profile, "cannot read role %s: %v", config.CrossAccountRoleName, shortError(err))
	case !strings.Contains(trust, `"`+pipelineRole+`"`):
		r.missing("roles", s.env.Name, account, fix, "%s trusts another pipeline account, not %s: the stack was deployed with another dev account", config.CrossAccountRoleName, pipelineRole)
	case !strings.Contains(trust, `"`+checkRole+`"`):
		r.missing("roles", s.env.Name, account, fix, "%s does not trust %s yet: the stack predates the pipeline's Check_Roles stage, which would stop the run", config.CrossAccountRoleName, checkRole)
	default:
		r.pass("roles", s.env.Name, account, "%s trusts %s and, read-only, %s", config.CrossAccountRoleName, pipelineRole, config.RolesCheckRoleName)
	}
	for _, e := range envs {
		name := config.DeploymentRoleNameFor(e)
		trust, err := roleTrust(ctx, s.cfg, name)
		switch {
		case isNotFound(err):
			r.missing("roles", e.Name, account, fix, "%s has no role %s for %s", id, name, e.Name)
		case err != nil:
			r.fail("roles", e.Name, account, "check the permissions of profile "+s.profile, "cannot read role %s: %v", name, shortError(err))
		case !strings.Contains(trust, "cloudformation.amazonaws.com"):
			r.missing("roles", e.Name, account, fix, "%s is not assumable by CloudFormation", name)
		default:
			r.pass("roles", e.Name, account, "%s is CloudFormation's role for %s", name, e.DeploymentStackName())
		}
	}
}

// roleTrust returns a role's trust policy as text (IAM returns it URL-encoded).
func roleTrust(ctx context.Context, c aws.Config, name string) (string, error) {
	out, err := iam.NewFromConfig(c).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return "", err
	}
	doc := aws.ToString(out.Role.AssumeRolePolicyDocument)
	if decoded, err := url.QueryUnescape(doc); err == nil {
		doc = decoded
	}
	return doc, nil
}

// shortError keeps the first line of an SDK error, which carries the service's message.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// uniqueID matches what KMS and S3 show in a policy in place of a role (AROA...) or user
// (AIDA...) that was deleted: they store a principal's unique ID, not its name.
var uniqueID = regexp.MustCompile(`"(A(?:RO|ID)A[A-Z0-9]{12,})"`)

// checkPrincipals finds key and bucket policy statements that name a principal by its unique
// ID. When a role of another account is deleted and recreated under the same name, the
// pipeline's key and bucket policies keep the old role's ID, which matches nothing: that
// account can no longer read the artifacts, and redeploying an unchanged pipeline stack does not
// rewrite the policies.
func checkPrincipals(ctx context.Context, r *Report, cfg config.Config, home session, keyArn string) {
	bucket := config.ArtifactBucketName(home.env.Account)
	key, err := kms.NewFromConfig(home.cfg).GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyArn), PolicyName: aws.String("default")})
	if err != nil {
		r.fail("principals", home.env.Name, home.env.Account, "check the permissions of profile "+home.profile, "cannot read the key policy of %s: %v", keyArn, shortError(err))
		return
	}
	policy, err := s3.NewFromConfig(home.cfg, func(o *s3.Options) { o.UsePathStyle = usesEmulator(home.cfg) }).
		GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil {
		r.fail("principals", home.env.Name, home.env.Account, "check the permissions of profile "+home.profile, "cannot read the policy of bucket %s: %v", bucket, shortError(err))
		return
	}
	texts := map[string]string{"key policy": aws.ToString(key.Policy), "bucket policy": aws.ToString(policy.Policy)}
	var stale []string
	for _, where := range []string{"key policy", "bucket policy"} {
		for _, m := range uniqueID.FindAllStringSubmatch(texts[where], -1) {
			stale = append(stale, m[1]+" in the "+where)
		}
	}
	if len(stale) == 0 {
		r.pass("principals", home.env.Name, home.env.Account, "the key and bucket policies name every principal by ARN")
		return
	}
	var missing []string
	for _, arn := range expectedPrincipals(cfg, home.partition) {
		if !strings.Contains(texts["key policy"], arn) || !strings.Contains(texts["bucket policy"], arn) {
			missing = append(missing, arn)
		}
	}
	fix := fmt.Sprintf("in each policy, replace the ID by the recreated role's ARN (%s) and put it back: "+
		"aws kms get-key-policy --key-id %s --policy-name default --query Policy --output text > key.json, edit, "+
		"aws kms put-key-policy --key-id %s --policy-name default --policy file://key.json; "+
		"aws s3api get-bucket-policy --bucket %s --query Policy --output text > bucket.json, edit, "+
		"aws s3api put-bucket-policy --bucket %s --policy file://bucket.json",
		strings.Join(missing, " or "), keyArn, keyArn, bucket, bucket)
	r.fail("principals", home.env.Name, home.env.Account, fix,
		"%s: a role these policies name was deleted and recreated, so they hold its old ID, which matches nothing", strings.Join(stale, ", "))
}

// expectedPrincipals are the roles of other accounts that the key and bucket policies name.
func expectedPrincipals(cfg config.Config, partition string) []string {
	var arns []string
	for _, account := range config.RemoteAccounts(cfg) {
		arns = append(arns, fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, config.CrossAccountRoleName))
		for _, e := range config.EnvironmentsIn(cfg, account) {
			arns = append(arns, fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, config.DeploymentRoleNameFor(e)))
		}
	}
	return arns
}
