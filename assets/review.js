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
  "AWS::CodeBuild::Project": ["Source", "Environment", "TimeoutInMinutes", "QueuedTimeoutInMinutes", "Cache", "Description"],
  "AWS::CodePipeline::Pipeline": ["Stages"],
  "AWS::IAM::Policy": ["PolicyDocument"],
  "AWS::IAM::Role": ["AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "Description"],
  "AWS::KMS::Key": ["KeyPolicy", "Description"],
  "AWS::S3::BucketPolicy": ["PolicyDocument"],
};

// Of a build project's Environment, only what it builds with may change without a person: not
// privileged mode, a fleet, a Docker server or certificates.
const ordinaryEnvironment = ["Image", "ComputeType", "Type", "ImagePullCredentialsType", "EnvironmentVariables"];

// Stages that keep the pipeline honest: the source (which repository and branch it trusts), the
// approvals, the self-update and the roles check. Any change to them needs a person, or a push
// could first remove a gate and then walk through it. Of the other stages, what each action is, who it runs as and what it deploys are guarded
// as well as their order; what they build is not.
const guardedStage = (name) => name === "Source" || /^Approve_/.test(name) || name === "UpdatePipeline" || name === "Check_Roles";
const guardedAction = (name) => name === "Pipeline_Changes";

// canonical writes a value with sorted keys, so key order never counts as a change; a key set to
// undefined counts as absent.
function canonical(v) {
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  if (v && typeof v === "object") {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
  }
  return JSON.stringify(v);
}

const same = (a, b) => canonical(a) === canonical(b);

// read loads a template without its Metadata and Description (the template's and the
// resources'): CloudFormation applies no change to them alone, so counting one would make the
// pipeline deploy itself on every run.
function read(file) {
  const t = JSON.parse(fs.readFileSync(file, "utf8"));
  if (t && typeof t === "object") {
    delete t.Metadata;
    delete t.Description;
    for (const r of Object.values(t.Resources || {})) delete r.Metadata;
  }
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
      } else if (y.Type === "AWS::CodeBuild::Project" && p === "Environment") {
        const rest = (e) => Object.fromEntries(Object.entries(e || {}).filter(([k]) => !ordinaryEnvironment.includes(k)));
        if (!same(rest(px), rest(py))) changes.push("changes " + id + ".Environment beyond its image and variables");
      }
    }
  }
  // Fn::Transform (AWS::Include and macros) rewrites the template at deploy time, out of sight
  // of both this review and the security diff; a dynamic reference ({{resolve:...}}) makes
  // CloudFormation read a secret with its own role and write it where a build could see it.
  // This app writes neither, so any one needs a person.
  const text = JSON.stringify(synthesized.Resources || {});
  if (text.includes('"Fn::Transform"')) changes.push("uses Fn::Transform");
  if (text.includes("{{resolve:")) changes.push("uses a dynamic reference");
  // A transform (a macro) rewrites the whole template; conditions, mappings and parameters
  // decide what the resources become.
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

// assembly checks that `cdk diff` and `cdk deploy --exclusively --app <dir> <stack>` can do
// nothing but act on the reviewed template: the CLI picks stacks by display name, deploys from
// the manifest's template URL, assumes the roles the manifest names, runs asset executables,
// builds Docker images, looks up context and loads a cdk.json's plugins, and a push controls all
// of these. So every field the CLI reads must be exactly what the default synthesizer writes
// for this stack in this account, qualifier hnb659fds.
function assembly(args) {
  const [dir, stack, account, region] = args;
  const problems = [];
  const want = (what, got, expected) => {
    if (!same(got, expected)) problems.push(what + " is " + JSON.stringify(got) + ", not " + JSON.stringify(expected));
  };
  for (const f of ["cdk.json", "cdk.context.json"]) {
    if (fs.existsSync(path.join(dir, f))) problems.push("the assembly holds a " + f + ", which the CLI would load");
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  if (manifest.missing) problems.push("the assembly asks for context lookups, which the CLI would run");
  const artifacts = manifest.artifacts || {};
  for (const [id, a] of Object.entries(artifacts)) {
    if (a.type === "cdk:cloud-assembly") problems.push("the assembly nests another assembly (" + id + ")");
    if (a.type === "aws:cloudformation:stack" && id !== stack && (a.displayName || id) === stack) {
      problems.push("artifact " + id + " is also displayed as " + stack + ", so the CLI would pick it");
    }
  }
  const template = stack + ".template.json", assets = stack + ".assets";
  const hash = require("crypto").createHash("sha256").update(fs.readFileSync(path.join(dir, template))).digest("hex");
  const bootstrap = (kind) => "arn:${AWS::Partition}:iam::" + account + ":role/cdk-hnb659fds-" + kind + "-role-" + account + "-" + region;
  const bucket = "cdk-hnb659fds-assets-" + account + "-" + region;
  const s = artifacts[stack] || {};
  want(stack + "'s type", s.type, "aws:cloudformation:stack");
  want(stack + "'s environment", s.environment, "aws://" + account + "/" + region);
  want(stack + "'s display name", s.displayName === undefined ? stack : s.displayName, stack);
  want(stack + "'s dependencies", s.dependencies, [assets]);
  want(stack + "'s properties", s.properties, {
    templateFile: template,
    terminationProtection: false,
    validateOnSynth: false,
    assumeRoleArn: bootstrap("deploy"),
    cloudFormationExecutionRoleArn: bootstrap("cfn-exec"),
    stackTemplateAssetObjectUrl: "s3://" + bucket + "/" + hash + ".json",
    requiresBootstrapStackVersion: 6,
    bootstrapStackVersionSsmParameter: "/cdk-bootstrap/hnb659fds/version",
    additionalDependencies: [assets],
    lookupRole: { arn: bootstrap("lookup"), requiresBootstrapStackVersion: 8, bootstrapStackVersionSsmParameter: "/cdk-bootstrap/hnb659fds/version" },
  });
  const a = artifacts[assets] || {};
  want(assets, a, { type: "cdk:asset-manifest", properties: { file: assets + ".json", requiresBootstrapStackVersion: 6,
    bootstrapStackVersionSsmParameter: "/cdk-bootstrap/hnb659fds/version" } });
  if (a.type === "cdk:asset-manifest") {
    const m = JSON.parse(fs.readFileSync(path.join(dir, assets + ".json"), "utf8"));
    const file = (m.files || {})[hash] || {};
    const destinations = Object.entries(file.destinations || {});
    want("the stack's assets", { docker: m.dockerImages, files: Object.keys(m.files || {}) }, { docker: {}, files: [hash] });
    want("the template asset", { ...file, destinations: undefined }, { displayName: stack + " Template", source: { path: template, packaging: "file" } });
    want("the template asset's destinations", destinations.map(([id, d]) => [/^[0-9]{12}-[a-z0-9-]+-[0-9a-f]{8}$/.test(id), d]),
      [[true, { bucketName: bucket, objectKey: hash + ".json", region, assumeRoleArn: bootstrap("file-publishing") }]]);
  }
  for (const p of problems) console.error("  " + p);
  if (problems.length > 0) {
    console.error("The cloud assembly would make the CDK CLI do more than act on the reviewed " + stack + " template; nothing was deployed.");
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
