// review.js compares CloudFormation templates for the pipeline's trusted build projects:
// Pipeline_Changes and UpdatePipeline (may a push's pipeline change go through without a
// person?) and Check_Roles (is a roles stack in another account stale?). It is shipped inside
// their buildspecs, so it runs as the deployed pipeline defines it, never as a push rewrites
// it: those projects run no code from the repository.
//
//   node review.js pipeline <deployed.json> <synthesized.json>
//     prints CHANGED=true|false and GUARDED='<what needs a person>'
//   node review.js assembly <dir> <stack> <account> <region>
//     exits 1 unless the cloud assembly deploys exactly <stack>'s reviewed template, with no
//     command of its own (asset executables, Docker builds, a cdk.json)
//   node review.js roles <deployed.json> <synthesized.json> [<deployed parameters.json> <key ARN>]
//     prints what differs and exits 1 when the deployed roles stack is not the synthesized one
"use strict";
const fs = require("fs");
const path = require("path");

// A pipeline change goes through without a person only when every difference is on this list:
// properties that change what the pipeline builds, not who may do what. IAM and key policies
// are listed because `cdk diff --security-only` judges them; anything else (a new resource, a
// removed one, another service role, a deletion policy) waits for a person.
const ordinary = {
  "AWS::CodeBuild::Project": ["Source", "Environment", "TimeoutInMinutes", "QueuedTimeoutInMinutes", "Cache", "Description", "LogsConfig"],
  "AWS::CodePipeline::Pipeline": ["Stages"],
  "AWS::IAM::Policy": ["PolicyDocument"],
  "AWS::IAM::Role": ["AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "Description"],
  "AWS::KMS::Key": ["KeyPolicy", "Description"],
  "AWS::S3::BucketPolicy": ["PolicyDocument"],
  "AWS::S3::Bucket": ["LifecycleConfiguration"],
};

// Stages that keep the pipeline honest: the source (which repository and branch it trusts), the
// approvals, the self-update and the roles check. Any change to them needs a person, or a push
// could first remove a gate and then walk through it. Of the other stages, what each action is, who it runs as and what it deploys are guarded
// as well as their order; what they build is not.
const guardedStage = (name) => name === "Source" || /^Approve_/.test(name) || name === "UpdatePipeline" || name === "Check_Roles";
const guardedAction = (name) => name === "Pipeline_Changes";

// canonical writes a value with sorted keys, so key order never counts as a change.
function canonical(v) {
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  if (v && typeof v === "object") {
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
  }
  return JSON.stringify(v);
}

const same = (a, b) => canonical(a) === canonical(b);

// read loads a template without its resources' Metadata: CloudFormation does not apply a
// change to Metadata alone, so counting one would make the pipeline update itself forever.
function read(file) {
  const t = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const r of Object.values((t && t.Resources) || {})) delete r.Metadata;
  return t;
}

// actionShape is what of an action needs a person to change: what it is, who it runs as,
// what it deploys and in which order.
function actionShape(a) {
  const c = a.Configuration || {};
  return [a.Name, a.ActionTypeId, a.RoleArn, a.RunOrder, a.Namespace, a.InputArtifacts, a.OutputArtifacts,
    c.ProjectName, c.RoleArn, c.StackName, c.ActionMode, c.Capabilities];
}

function stageChanges(before, after) {
  const changes = [];
  const names = (stages) => (stages || []).map((s) => s.Name);
  if (!same(names(before), names(after))) {
    changes.push("changes the stages (" + names(before).join(" ") + " -> " + names(after).join(" ") + ")");
  }
  const byName = (stages) => new Map((stages || []).map((s) => [s.Name, s]));
  const b = byName(before), a = byName(after);
  for (const name of new Set([...b.keys(), ...a.keys()])) {
    const x = b.get(name), y = a.get(name);
    if (!x || !y) continue; // added or removed: the sequence above already says so
    if (guardedStage(name)) {
      if (!same(x, y)) changes.push("changes stage " + name);
      continue;
    }
    const rest = (s) => ({ ...s, Actions: undefined });
    if (!same(rest(x), rest(y)) || !same((x.Actions || []).map(actionShape), (y.Actions || []).map(actionShape))) {
      changes.push("changes the actions, roles or conditions of stage " + name);
    }
    for (const action of new Set([...(x.Actions || []), ...(y.Actions || [])].map((act) => act.Name))) {
      const ax = (x.Actions || []).find((act) => act.Name === action), ay = (y.Actions || []).find((act) => act.Name === action);
      if (guardedAction(action) && !same(ax, ay)) changes.push("changes action " + action);
    }
  }
  return changes;
}

// guardedChanges lists every difference that is not on the ordinary list.
function guardedChanges(deployed, synthesized, guardedResources) {
  const changes = [];
  const before = deployed.Resources || {}, after = synthesized.Resources || {};
  for (const id of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const x = before[id], y = after[id];
    if (same(x, y)) continue;
    if (!x || !y) {
      changes.push((x ? "removes " : "adds ") + (x || y).Type + " " + id);
      continue;
    }
    if (guardedResources.includes(id)) {
      changes.push("changes the trusted project " + id);
      continue;
    }
    const allowed = ordinary[y.Type] || [];
    if (x.Type !== y.Type || !same({ ...x, Properties: undefined }, { ...y, Properties: undefined })) {
      changes.push("changes the type, dependencies or deletion policy of " + id);
      continue;
    }
    const props = new Set([...Object.keys(x.Properties || {}), ...Object.keys(y.Properties || {})]);
    for (const p of [...props].sort()) {
      const px = (x.Properties || {})[p], py = (y.Properties || {})[p];
      if (same(px, py)) continue;
      if (!allowed.includes(p)) {
        changes.push("changes " + id + "." + p);
      } else if (y.Type === "AWS::CodePipeline::Pipeline" && p === "Stages") {
        changes.push(...stageChanges(px, py));
      }
    }
  }
  // A transform (a macro) rewrites the template at deploy time; conditions, mappings and
  // parameters decide what the resources become.
  for (const section of ["Transform", "Conditions", "Mappings", "Parameters"]) {
    if (!same(deployed[section], synthesized[section])) changes.push("changes the template section " + section);
  }
  return changes;
}

// templateChanges describes how two templates differ, one line per section entry.
function templateChanges(deployed, synthesized) {
  const lines = [];
  for (const section of ["Parameters", "Conditions", "Resources", "Outputs", "Rules"]) {
    const a = deployed[section] || {}, b = synthesized[section] || {};
    for (const id of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!(id in a)) lines.push("  missing in the deployed stack: " + section + "." + id);
      else if (!(id in b)) lines.push("  only in the deployed stack:   " + section + "." + id);
      else if (!same(a[id], b[id])) lines.push("  differs:                      " + section + "." + id);
    }
  }
  return lines;
}

function pipeline(args) {
  const [deployedFile, synthesizedFile] = args;
  const deployed = read(deployedFile), synthesized = read(synthesizedFile);
  const guardedResources = (process.env.GUARDED_RESOURCES || "").split(",").filter(Boolean);
  const changed = !same(deployed, synthesized);
  const guarded = changed ? guardedChanges(deployed, synthesized, guardedResources) : [];
  for (const line of templateChanges(deployed, synthesized)) console.error(line);
  // Values go into a shell's environment and CodePipeline variables: plain words only.
  console.log("CHANGED=" + changed);
  console.log("GUARDED='" + guarded.join("; ").replace(/[^A-Za-z0-9_ ;:.,>()-]/g, "") + "'");
  return 0;
}

// assembly checks that `cdk deploy --app <dir> <stack>` can do nothing but deploy the
// reviewed template: the CLI would run an asset's executable, build a Docker image, or load a
// plugin from a cdk.json, all of which a push controls.
function assembly(args) {
  const [dir, stack, account, region] = args;
  const problems = [];
  for (const f of ["cdk.json", "cdk.context.json"]) {
    if (fs.existsSync(path.join(dir, f))) problems.push("the assembly holds a " + f + ", which the CLI would load");
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const artifacts = manifest.artifacts || {};
  const s = artifacts[stack] || {};
  const props = s.properties || {};
  if (s.type !== "aws:cloudformation:stack") problems.push(stack + " is not a stack of the assembly");
  if (s.environment !== "aws://" + account + "/" + region) problems.push(stack + " deploys to " + s.environment + ", not aws://" + account + "/" + region);
  if (props.templateFile !== stack + ".template.json") problems.push(stack + "'s template is " + props.templateFile + ", not the reviewed " + stack + ".template.json");
  if (props.stackName !== undefined && props.stackName !== stack) problems.push(stack + " deploys as stack " + props.stackName);
  const assets = stack + ".assets";
  for (const d of s.dependencies || []) {
    if (d !== assets) problems.push(stack + " depends on " + d);
  }
  const a = artifacts[assets];
  if (a) {
    if (a.type !== "cdk:asset-manifest" || (a.properties || {}).file !== assets + ".json") problems.push(assets + " is not the stack's asset manifest");
    const m = JSON.parse(fs.readFileSync(path.join(dir, assets + ".json"), "utf8"));
    if (Object.keys(m.dockerImages || {}).length > 0) problems.push("the stack has Docker image assets, which the CLI would build");
    for (const [id, f] of Object.entries(m.files || {})) {
      const src = f.source || {};
      if (src.executable) problems.push("asset " + id + " runs a command: " + JSON.stringify(src.executable));
      else if (src.path !== props.templateFile) problems.push("asset " + id + " uploads " + src.path + ", not the template");
    }
  }
  for (const p of problems) console.error("  " + p);
  if (problems.length > 0) {
    console.error("The cloud assembly would make cdk deploy do more than deploy the reviewed " + stack + " template; nothing was deployed.");
    return 1;
  }
  return 0;
}

function roles(args) {
  const [deployedFile, synthesizedFile, parametersFile, keyArn] = args;
  const lines = templateChanges(read(deployedFile), read(synthesizedFile));
  if (parametersFile) {
    const params = JSON.parse(fs.readFileSync(parametersFile, "utf8")) || [];
    const given = (params.find((p) => p.ParameterKey === "ArtifactKeyArn") || {}).ParameterValue || "";
    if (given !== keyArn) {
      lines.push("  parameter ArtifactKeyArn is " + (given ? given : "empty") + ", not this pipeline's key " + keyArn);
    }
  }
  if (lines.length === 0) {
    console.log("The deployed roles stack is the synthesized one.");
    return 0;
  }
  console.log("The deployed roles stack is not the one this commit needs:");
  for (const line of lines) console.log(line);
  return 1;
}

function main(argv) {
  const [command, ...args] = argv;
  if (command === "pipeline" && args.length === 2) return pipeline(args);
  if (command === "assembly" && args.length === 4) return assembly(args);
  if (command === "roles" && (args.length === 2 || args.length === 4)) return roles(args);
  console.error("usage: review.js pipeline <deployed.json> <synthesized.json>\n" +
    "       review.js assembly <dir> <stack> <account> <region>\n" +
    "       review.js roles <deployed.json> <synthesized.json> [<parameters.json> <key ARN>]");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
