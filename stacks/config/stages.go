package config

// StageKind is what a stage of the pipeline does.
type StageKind int

// The kinds of stage, in the order a run meets them.
const (
	StageSource StageKind = iota
	StageBuild
	StageApproveUpdate
	StageUpdate
	StageCheckRoles
	StageApprove
	StageDeploy
)

// Stage is one stage of the pipeline; Env is the environment of an approval or deploy stage.
type Stage struct {
	Name string
	Kind StageKind
	Env  Environment
	// Index is Env's position in the config's environments.
	Index int
}

// Stages lays the pipeline out from the config alone: the source, the build, the self-update
// pair, then per environment its approval (when set) and its deploy, with Check_Roles once,
// before the first environment of another account, so a stale roles stack stops the run before
// anyone is asked to approve. The pipeline stack builds exactly these stages, in this order.
func Stages(cfg Config) []Stage {
	stages := []Stage{
		{Name: "Source", Kind: StageSource},
		{Name: "Build", Kind: StageBuild},
		{Name: ApproveUpdateStage, Kind: StageApproveUpdate},
		{Name: UpdatePipelineStage, Kind: StageUpdate},
	}
	checked := false
	for i, e := range cfg.Environments {
		if e.Account != cfg.PipelineAccount() && !checked {
			stages = append(stages, Stage{Name: CheckRolesStage, Kind: StageCheckRoles})
			checked = true
		}
		if e.Approval {
			stages = append(stages, Stage{Name: e.ApproveStage(), Kind: StageApprove, Env: e, Index: i})
		}
		stages = append(stages, Stage{Name: e.DeployStage(), Kind: StageDeploy, Env: e, Index: i})
	}
	return stages
}
