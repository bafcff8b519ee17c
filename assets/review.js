// review.js is the judge inside the pipeline's trusted build projects. It is shipped inside their
// buildspecs, so it runs as the deployed pipeline defines it, never as a push rewrites it: those
// projects run no code from the repository. Everything a push controls (the cloud assembly, the
// templates, the build output) is hostile input here, and every rule fails closed: what this
// script cannot prove ordinary waits for a person.
//
//   node review.js pipeline <deployed.json> <synthesized.json>
//     prints CHANGED=, WIDENS=, REASON= (for the approver, at most 300 characters) and CHANGES=
//     (the changed template paths); the full list of reasons goes to stderr, the build's log
//   node review.js assembly <dir> <stack> <account> <region> <out dir>
//     exits 1 unless the cloud assembly deploys exactly <stack>'s template with no command of
//     its own; copies the reviewed files, and nothing else, into the new <out dir> and prints
//     DIGEST=, the digest of exactly those files
//   node review.js digest <dir>
//     prints the digest of every file under <dir>; exits 1 on a symlink or a special file
//   node review.js preview <deployed.json> <synthesized.json> <stack> <account> <region> <out dir>
//     prints IAM= for an approver (what IAM resources deploying the template changes) and writes
//     a minimal assembly of the template for `cdk diff`
//   node review.js replacements <cdk diff output>
//     prints REPLACED= and DELETED=: the resources the diff replaces or deletes
//   node review.js trust <application template>...
//     exits 1 when a role of a template may be assumed by more than the application's services
//   node review.js roles <deployed.json> <synthesized.json> [<deployed parameters.json> <key ARN>]
//     prints what differs and exits 1 when the deployed roles stack is not the synthesized one
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

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
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const keysOf = (...objects) => [...new Set(objects.flatMap((o) => (isObject(o) ? Object.keys(o) : [])))].sort();

// An intrinsic function (Ref, Fn::Join, Fn::Sub, ...) makes CloudFormation build the value at
// deploy time, out of sight of a reader of the template.
const isIntrinsicKey = (k) => k === "Ref" || k.startsWith("Fn::");
const usesIntrinsic = (v) =>
  Array.isArray(v) ? v.some(usesIntrinsic) : isObject(v) && Object.entries(v).some(([k, x]) => isIntrinsicKey(k) || usesIntrinsic(x));

// strings lists a value's string literals in order: CloudFormation resolves a dynamic reference
// ({{resolve:...}}) after Fn::Join and Fn::Sub, so one split over several literals still counts.
const strings = (v) => (typeof v === "string" ? [v] : Array.isArray(v) ? v.flatMap(strings) : isObject(v) ? Object.values(v).flatMap(strings) : []);
const resolvesSecret = (v) => strings(v).join("").includes("{{resolve");

// read loads a template without its Metadata and Description (the template's and the
// resources'): CloudFormation applies no change to them alone, so counting one would make the
// pipeline deploy itself on every run.
function read(file) {
  const t = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!isObject(t)) throw new Error(file + " is not a template");
  delete t.Metadata;
  delete t.Description;
  for (const r of Object.values(t.Resources || {})) if (isObject(r)) delete r.Metadata;
  return t;
}

// differences yields the smallest differing parts of two values as [path, before, after]: into
// objects (not intrinsics) key by key, into lists of equal length item by item; a list that
// grew or shrank yields its added items one by one.
function* differences(x, y, at) {
  if (same(x, y)) return;
  if (isObject(x) && isObject(y) && !Object.keys(x).some(isIntrinsicKey) && !Object.keys(y).some(isIntrinsicKey)) {
    for (const k of keysOf(x, y)) yield* differences(x[k], y[k], at.concat(k));
  } else if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
    for (let i = 0; i < x.length; i++) yield* differences(x[i], y[i], at.concat(i));
  } else if (Array.isArray(x) && Array.isArray(y)) {
    const before = new Set(x.map(canonical));
    const added = y.filter((v) => !before.has(canonical(v)));
    if (added.length === 0) yield [at, x, undefined]; // only removals: nothing new to judge here
    for (const v of added) yield [at.concat("+"), undefined, v];
  } else {
    yield [at, x, y];
  }
}

// The one IAM change that needs no person: removing whole statements that a simple reader can
// see only ever allowed something. Any other difference in a policy document (a non-literal
// Effect, NotAction, NotResource, NotPrincipal, a document given as a string, an intrinsic
// anywhere in a removed statement, a changed statement) needs a person.
const literalAllow = (s) =>
  isObject(s) && s.Effect === "Allow" && !("NotAction" in s) && !("NotResource" in s) && !("NotPrincipal" in s) && !usesIntrinsic(s);

function onlyRemovesAllows(before, after) {
  const plain = (d) => isObject(d) && !usesIntrinsic({ ...d, Statement: undefined }) && Array.isArray(d.Statement);
  if (!plain(before) || !plain(after) || !same({ ...before, Statement: undefined }, { ...after, Statement: undefined })) return false;
  let kept = 0;
  for (const s of before.Statement) {
    if (kept < after.Statement.length && same(s, after.Statement[kept])) kept++;
    else if (!literalAllow(s)) return false;
  }
  return kept === after.Statement.length;
}

// What of a resource may change without a person, by type; everything else needs one. A policy
// document may only lose literal Allow statements (onlyRemovesAllows); a build project may
// change what it builds with, not who it runs as; the pipeline may change its stages within the
// rules of stageChanges. No key, bucket, bucket policy, managed policy, role attachment or
// boundary is on this list.
const ordinary = Object.assign(Object.create(null), {
  "AWS::CodeBuild::Project": { Source: ["BuildSpec"], Environment: ["Image", "ComputeType", "Type", "EnvironmentVariables"], TimeoutInMinutes: true, QueuedTimeoutInMinutes: true, Description: true },
  "AWS::CodePipeline::Pipeline": { Stages: true },
  "AWS::IAM::Policy": { PolicyDocument: "policy" },
  "AWS::IAM::Role": { AssumeRolePolicyDocument: "policy", Description: true },
});
// ruleFor looks a property up by its own name only: "constructor" or "toString" is no rule.
const ruleFor = (type, p) => (Object.hasOwn(ordinary, type) && Object.hasOwn(ordinary[type], p) ? ordinary[type][p] : undefined);

// Stages that keep the pipeline honest: the source (which repository and branch it trusts), the
// approvals, the self-update and the roles check. Any change to them needs a person, or a push
// could first remove a gate and then walk through it. The same goes for the trusted actions
// that sit in other stages. Of the other stages, what each action is, who it runs as, what it
// deploys and in which order are guarded; what they build is not.
const guardedStage = (name) => name === "Source" || /^Approve_/.test(name) || name === "UpdatePipeline" || name === "Check_Roles";
const trustedActions = ["Pipeline_Changes", "Record_Digests", "Verify_Artifacts", "Preview"];

// actionShape is all of an action but the variables a CodeBuild action passes its build: what it
// is, who it runs as, what it deploys with which parameters, in which order and region. Only
// plain-text build variables (plainVariables) may change without a person.
function actionShape(a) {
  const c = isObject(a.Configuration) ? a.Configuration : {};
  return { ...a, Configuration: { ...c, EnvironmentVariables: undefined } };
}

// plainVariables tells whether a CodeBuild action's variables are plain text given literally: a
// variable of type PARAMETER_STORE or SECRETS_MANAGER makes CodeBuild read with the project's role.
function plainVariables(a) {
  const v = isObject(a.Configuration) ? a.Configuration.EnvironmentVariables : undefined;
  if (v === undefined) return true;
  if (typeof v !== "string") return false;
  try {
    const list = JSON.parse(v);
    return Array.isArray(list) && list.every((e) => isObject(e) && (e.type === undefined || e.type === "PLAINTEXT") && typeof e.value === "string");
  } catch (err) {
    return false;
  }
}

function stageChanges(before, after) {
  const changes = [];
  const names = (stages) => (Array.isArray(stages) ? stages : []).map((s) => s && s.Name);
  if (!Array.isArray(after) || !same(names(before), names(after))) {
    return ["changes the stages (" + names(before).join(" ") + " -> " + names(after).join(" ") + ")"];
  }
  for (let i = 0; i < after.length; i++) {
    const x = before[i], y = after[i];
    if (same(x, y)) continue;
    if (guardedStage(y.Name)) {
      changes.push("changes stage " + y.Name);
      continue;
    }
    const actions = (s) => (Array.isArray(s.Actions) ? s.Actions : []);
    if (!same({ ...x, Actions: undefined }, { ...y, Actions: undefined }) || !same(actions(x).map(actionShape), actions(y).map(actionShape))) {
      changes.push("changes the actions, roles, parameters or conditions of stage " + y.Name);
    }
    if (!actions(y).every(plainVariables)) changes.push("gives an action of stage " + y.Name + " variables that are not plain text");
    actions(y).forEach((a, j) => {
      if (trustedActions.includes(a.Name) && !same(a, actions(x)[j])) changes.push("changes the trusted action " + y.Name + "." + a.Name);
    });
  }
  return changes;
}

const refOf = (v) => (isObject(v) && typeof v.Ref === "string" ? v.Ref : isObject(v) && Array.isArray(v["Fn::GetAtt"]) ? v["Fn::GetAtt"][0] : undefined);

// plumbing lists the logical IDs of the gates' own machinery in a template: the pipeline's role, the trusted actions' projects and roles, and every policy attached to those roles. Any
// change to them needs a person, a narrowing too: a push that "narrows" the role that reviews
// the next push can break the self-update, or stop a gate from seeing what it must.
function plumbing(t) {
  const resources = t.Resources || {};
  const ids = new Set();
  for (const r of Object.values(resources)) {
    if (!isObject(r) || r.Type !== "AWS::CodePipeline::Pipeline") continue;
    ids.add(refOf((r.Properties || {}).RoleArn));
    for (const s of (r.Properties || {}).Stages || []) {
      for (const a of (s && s.Actions) || []) {
        if (!guardedStage(s.Name) && !trustedActions.includes(a.Name)) continue;
        ids.add(refOf(a.RoleArn));
        const project = resources[refOf((a.Configuration || {}).ProjectName)];
        if (project) {
          ids.add(refOf(a.Configuration.ProjectName));
          ids.add(refOf((project.Properties || {}).ServiceRole));
        }
      }
    }
  }
  for (const [id, r] of Object.entries(resources)) {
    const roles = isObject(r) && r.Type === "AWS::IAM::Policy" ? (r.Properties || {}).Roles || [] : [];
    if (roles.some((role) => ids.has(refOf(role)))) ids.add(id);
  }
  ids.delete(undefined);
  return ids;
}

// propertyChanges judges one changed property of a resource that is not plumbing.
function propertyChanges(id, type, p, x, y) {
  const rule = ruleFor(type, p);
  const where = id + "." + p;
  if (!rule) return ["changes " + where];
  if (rule === "policy") return onlyRemovesAllows(x, y) ? [] : ["changes the policy " + where + " (more than removing literal Allow statements)"];
  const changes = [];
  if (Array.isArray(rule)) {
    for (const k of keysOf(x, y)) {
      if (!same((x || {})[k], (y || {})[k]) && !rule.includes(k)) changes.push("changes " + where + "." + k);
    }
  }
  if (type === "AWS::CodePipeline::Pipeline") changes.push(...stageChanges(x, y));
  if (p === "Environment") {
    for (const v of (isObject(y) && y.EnvironmentVariables) || []) {
      if (isObject(v) && v.Type !== undefined && v.Type !== "PLAINTEXT") changes.push("reads " + where + " variable " + v.Name + " from " + v.Type);
    }
  }
  return changes;
}

// deployTimeValues lists the changed values, anywhere in the two templates, that CloudFormation
// builds at deploy time or that resolve a secret: whatever the property, a person reads them.
function deployTimeValues(deployed, synthesized) {
  const changes = [];
  for (const [at, , after] of differences(deployed, synthesized, [])) {
    const where = at.filter((k) => k !== "+").join(".");
    if (resolvesSecret(after)) changes.push("uses a dynamic reference in " + where);
    else if (usesIntrinsic(after) || at.some((k) => typeof k === "string" && isIntrinsicKey(k))) changes.push("builds " + where + " at deploy time");
  }
  return changes;
}

// pipelineChanges lists every difference that needs a person, each once.
function pipelineChanges(deployed, synthesized) {
  const changes = [];
  for (const section of keysOf(deployed, synthesized)) {
    if (section !== "Resources" && section !== "AWSTemplateFormatVersion" && !same(deployed[section], synthesized[section])) {
      changes.push("changes the template section " + section);
    }
  }
  const before = deployed.Resources || {}, after = synthesized.Resources || {};
  const guarded = new Set([...plumbing(deployed), ...plumbing(synthesized)]);
  for (const id of keysOf(before, after)) {
    const x = before[id], y = after[id];
    if (same(x, y)) continue;
    if (!isObject(x) || !isObject(y)) {
      changes.push((x ? "removes " : "adds ") + ((x || y) || {}).Type + " " + id);
    } else if (guarded.has(id)) {
      changes.push("changes " + id + ", part of the gates (pipeline, trusted projects and their roles)");
    } else if (x.Type !== y.Type || !same({ ...x, Properties: undefined }, { ...y, Properties: undefined })) {
      changes.push("changes the type, dependencies, condition or deletion policy of " + id);
    } else {
      for (const p of keysOf(x.Properties, y.Properties)) {
        if (!same((x.Properties || {})[p], (y.Properties || {})[p])) changes.push(...propertyChanges(id, y.Type, p, x.Properties[p], y.Properties[p]));
      }
    }
  }
  changes.push(...deployTimeValues(deployed, synthesized));
  // Fn::Transform (AWS::Include and macros) rewrites the template at deploy time, out of sight
  // of this review; this app writes none.
  if (JSON.stringify(synthesized).includes('"Fn::Transform"')) changes.push("uses Fn::Transform");
  // What widens comes first, so that no list of harmless-looking changes (whose logical IDs a
  // push chooses) can push it past what the approval's text shows.
  const weight = (c) => (/policy|gates|dynamic reference|Transform|stages|stage |trusted/.test(c) ? 0 : 1);
  return [...new Set(changes)].sort((a, b) => weight(a) - weight(b));
}

// changedPaths names what differs, to the property: the message that stops a restart loop.
function changedPaths(deployed, synthesized) {
  const paths = [];
  for (const [at] of differences(deployed, synthesized, [])) {
    const p = at.slice(0, at[0] === "Resources" ? 4 : 2).join(".");
    if (!paths.includes(p)) paths.push(p);
  }
  return paths;
}

// cap keeps a value within what an approval's text can carry (CodePipeline allows 1,000
// characters after variables are filled in); the whole list is in the build's log.
function cap(items, limit) {
  let text = "";
  for (let i = 0; i < items.length; i++) {
    const next = (text ? text + "; " : "") + items[i];
    const rest = items.length - i - 1;
    if (next.length > limit - (rest ? 30 : 0)) return text + " (and " + (items.length - i) + " more: see the log)";
    text = next;
  }
  return text;
}

// shellValue quotes a value for `. file` in bash: plain words and punctuation only.
const shellValue = (s) => "'" + s.replace(/[^A-Za-z0-9_ ;:.,>()+*/=-]/g, "") + "'";

function pipeline([deployedFile, synthesizedFile]) {
  const deployed = read(deployedFile), synthesized = read(synthesizedFile);
  const changed = !same(deployed, synthesized);
  const changes = changed ? pipelineChanges(deployed, synthesized) : [];
  const paths = changed ? changedPaths(deployed, synthesized) : [];
  for (const p of paths) console.error("  differs: " + p);
  for (const c of changes) console.error("  needs a person: " + c);
  let reason = "the pipeline stack is unchanged";
  if (changed) reason = changes.length ? "the push " + cap(changes, 280) : "an ordinary change (no policy widens, no gate, role, key or bucket changes)";
  console.log("CHANGED=" + changed);
  console.log("WIDENS=" + (changes.length > 0));
  console.log("REASON=" + shellValue(reason));
  console.log("CHANGES=" + shellValue(cap(paths, 600)));
  return 0;
}

// files lists every file under dir, relative, sorted; a symlink or anything but a regular file
// or a folder is refused: an artifact's zip may carry symlinks that point out of it.
function files(dir, problems, at = "") {
  const out = [];
  for (const name of fs.readdirSync(path.join(dir, at)).sort()) {
    const rel = path.join(at, name), st = fs.lstatSync(path.join(dir, rel));
    if (st.isDirectory()) out.push(...files(dir, problems, rel));
    else if (st.isFile()) out.push(rel);
    else problems.push(rel + " is a " + (st.isSymbolicLink() ? "symlink" : "special file") + ", not a regular file");
  }
  return out;
}

// digestOf hashes files (relative to dir) by name, size and content, so that no two different
// sets of files share a digest.
function digestOf(dir, names) {
  const h = crypto.createHash("sha256");
  for (const name of names) {
    const data = fs.readFileSync(path.join(dir, name));
    h.update(name + "\0" + data.length + "\0").update(data);
  }
  return h.digest("hex");
}

function digest([dir]) {
  const problems = [];
  const names = files(dir, problems);
  for (const p of problems) console.error("  " + p);
  if (problems.length > 0) return 1;
  console.log("DIGEST=" + digestOf(dir, names));
  return 0;
}

// assembly checks that `cdk diff` and `cdk deploy --exclusively --app <dir> <stack>` can do
// nothing but act on the reviewed template: the CLI picks stacks by display name, deploys from
// the manifest's template URL, assumes the roles the manifest names, runs asset executables,
// builds Docker images and legacy assets, looks up context and loads a cdk.json's plugins, and a
// push controls all of these. So every field the CLI reads must be exactly what the default
// synthesizer writes for this stack in this account, qualifier hnb659fds. The CLI then gets a
// fresh folder with a manifest of this one stack and the two files it names, nothing else.
function assembly([dir, stack, account, region, out]) {
  const problems = [];
  const want = (what, got, expected) => {
    if (!same(got, expected)) problems.push(what + " is " + JSON.stringify(got) + ", not " + JSON.stringify(expected));
  };
  files(dir, problems);
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
    for (const [at, entries] of Object.entries(a.metadata || {})) {
      if ((entries || []).some((e) => e && e.type === "aws:cdk:asset")) problems.push(at + " declares a legacy asset, which the CLI would build");
    }
  }
  const template = stack + ".template.json", assets = stack + ".assets";
  const hash = crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, template))).digest("hex");
  const bootstrap = (kind) => "arn:${AWS::Partition}:iam::" + account + ":role/cdk-hnb659fds-" + kind + "-role-" + account + "-" + region;
  const bucket = "cdk-hnb659fds-assets-" + account + "-" + region;
  const version = "/cdk-bootstrap/hnb659fds/version";
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
    bootstrapStackVersionSsmParameter: version,
    additionalDependencies: [assets],
    lookupRole: { arn: bootstrap("lookup"), requiresBootstrapStackVersion: 8, bootstrapStackVersionSsmParameter: version },
  });
  const a = artifacts[assets] || {};
  want(assets, a, { type: "cdk:asset-manifest", properties: { file: assets + ".json", requiresBootstrapStackVersion: 6, bootstrapStackVersionSsmParameter: version } });
  if (a.type === "cdk:asset-manifest") {
    const m = JSON.parse(fs.readFileSync(path.join(dir, assets + ".json"), "utf8"));
    const file = (m.files || {})[hash] || {};
    const destinations = Object.entries(file.destinations || {});
    want("the stack's assets", { docker: m.dockerImages, files: Object.keys(m.files || {}) }, { docker: {}, files: [hash] });
    want("the template asset", { ...file, destinations: undefined }, { displayName: stack + " Template", source: { path: template, packaging: "file" } });
    want("the template asset's destinations", destinations.map(([id, d]) => [/^[0-9]{12}-[a-z0-9-]+-[0-9a-f]{8}$/.test(id), d]),
      [[true, { bucketName: bucket, objectKey: hash + ".json", region, assumeRoleArn: bootstrap("file-publishing") }]]);
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) problems.push(out + " is not a new, empty folder");
  for (const p of problems) console.error("  " + p);
  if (problems.length > 0) {
    console.error("The cloud assembly would make the CDK CLI do more than act on the reviewed " + stack + " template; nothing was deployed.");
    return 1;
  }
  fs.mkdirSync(out, { recursive: true });
  const reviewed = { version: manifest.version, artifacts: { [assets]: a, [stack]: { ...s, metadata: undefined } } };
  fs.writeFileSync(path.join(out, "manifest.json"), JSON.stringify(reviewed, null, 1));
  for (const f of [template, assets + ".json"]) fs.copyFileSync(path.join(dir, f), path.join(out, f));
  console.log("DIGEST=" + digestOf(out, ["manifest.json", template, assets + ".json"]));
  return 0;
}

// The services an application role may trust. The permissions boundary bounds what a role may
// do; this bounds who may do it: a role that trusted another account would hand the boundary's
// permissions (shifting the live alias, say) to whoever holds that account, outside the pipeline.
const trustedServices = ["lambda.amazonaws.com", "codedeploy.amazonaws.com"];

// trustOnlyServices refuses application templates with a role whose trust policy is anything but
// literal Allow statements of sts:AssumeRole by those services.
function trustOnlyServices(files) {
  const problems = [];
  for (const file of files) {
    const t = read(file);
    for (const [id, r] of Object.entries(t.Resources || {})) {
      if (!isObject(r) || r.Type !== "AWS::IAM::Role") continue;
      const doc = (r.Properties || {}).AssumeRolePolicyDocument;
      const ok = isObject(doc) && !usesIntrinsic(doc) && Array.isArray(doc.Statement) && doc.Statement.length > 0 &&
        doc.Statement.every((st) => isObject(st) && st.Effect === "Allow" && keysOf(st).every((k) => ["Sid", "Effect", "Action", "Principal"].includes(k)) &&
          [].concat(st.Action).every((a) => a === "sts:AssumeRole") && isObject(st.Principal) && same(keysOf(st.Principal), ["Service"]) &&
          [].concat(st.Principal.Service).every((p) => trustedServices.includes(p)));
      if (!ok) problems.push(path.basename(file) + ": role " + id + " trusts more than " + trustedServices.join(" or ") + ": " + JSON.stringify(doc));
    }
  }
  for (const p of problems) console.error("  " + p);
  if (problems.length > 0) {
    console.error("An application role may be assumed only by the services the application runs on; nothing was deployed.");
    return 1;
  }
  return 0;
}

// preview tells an approver what deploying an application template over the deployed stack
// changes in IAM: any IAM resource added, changed or removed counts (a person reads the diff in
// the log). It also writes a minimal cloud assembly of that one template into the new <out dir>,
// written here from data, for `cdk diff --template` to mark what CloudFormation would replace
// (replacements reads that diff). A stack not deployed yet is the template {}.
function preview([deployedFile, synthesizedFile, stack, account, region, out]) {
  const synthesized = read(synthesizedFile);
  const deployed = read(deployedFile);
  const before = deployed.Resources || {}, after = synthesized.Resources || {};
  const iam = keysOf(before, after).filter((id) => /^AWS::IAM::/.test(((before[id] || after[id]) || {}).Type) && !same(before[id], after[id]));
  for (const line of templateChanges(deployed, synthesized)) console.error(line);
  fs.mkdirSync(out);
  const template = stack + ".template.json";
  fs.copyFileSync(synthesizedFile, path.join(out, template));
  fs.writeFileSync(path.join(out, "manifest.json"), JSON.stringify({ version: "48.0.0", artifacts: { [stack]: {
    type: "aws:cloudformation:stack", environment: "aws://" + account + "/" + region, properties: { templateFile: template, validateOnSynth: false } } } }));
  console.log("IAM=" + shellValue(iam.length ? "changes " + cap(iam, 120) : "unchanged"));
  return 0;
}

// replacements reads the output of `cdk diff` and lists the resources it replaces or deletes.
function replacements([diffFile]) {
  const replaced = [], deleted = [];
  for (const line of fs.readFileSync(diffFile, "utf8").split("\n")) {
    // "[~] AWS::IAM::Role <construct path, when the template has it> <logical ID> replace"
    const m = /^\[([-~])\] AWS::\S+ (.+) (replace|may be replaced|destroy)$/.exec(line.trim());
    const id = m && m[2].split(" ").pop();
    if (m && m[3] === "destroy") deleted.push(id);
    else if (m) replaced.push(id + (m[3] === "replace" ? "" : " (maybe)"));
  }
  console.log("REPLACED=" + shellValue(replaced.length ? cap(replaced, 120) : "none"));
  console.log("DELETED=" + shellValue(deleted.length ? cap(deleted, 120) : "none"));
  return 0;
}

// templateChanges describes how two templates differ, one line per section entry.
function templateChanges(deployed, synthesized) {
  const lines = [];
  for (const section of ["Parameters", "Conditions", "Resources", "Outputs", "Rules"]) {
    const a = deployed[section] || {}, b = synthesized[section] || {};
    for (const id of keysOf(a, b)) {
      if (!(id in a)) lines.push("  missing in the deployed stack: " + section + "." + id);
      else if (!(id in b)) lines.push("  only in the deployed stack:   " + section + "." + id);
      else if (!same(a[id], b[id])) lines.push("  differs:                      " + section + "." + id);
    }
  }
  return lines;
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
  const commands = { pipeline: [2], assembly: [5], digest: [1], preview: [6], replacements: [1], roles: [2, 4] };
  if (command === "trust" && args.length > 0) return trustOnlyServices(args);
  if (Object.hasOwn(commands, command) && commands[command].includes(args.length)) {
    return { pipeline, assembly, digest, preview, replacements, roles }[command](args);
  }
  console.error("usage: review.js pipeline <deployed.json> <synthesized.json>\n" +
    "       review.js assembly <dir> <stack> <account> <region> <out dir>\n" +
    "       review.js digest <dir>\n" +
    "       review.js preview <deployed.json> <synthesized.json> <stack> <account> <region> <out dir>\n" +
    "       review.js replacements <cdk diff output>\n" +
    "       review.js trust <application template>...\n" +
    "       review.js roles <deployed.json> <synthesized.json> [<parameters.json> <key ARN>]");
  return 2;
}

// cli runs a command as `node review.js <command> <args>...` does: it prints what the command
// prints and returns the exit status.
function cli(argv) {
  try {
    return main(argv);
  } catch (err) {
    // A template or assembly this script cannot read is refused, never waved through.
    console.error("review.js: " + err.message);
    return 1;
  }
}

// Run by node (the buildspecs, make review-change), review.js is the CLI; the stacks tests require
// it and call cli for every case in one node process (stacks/testdata/review-harness.js).
if (require.main === module) process.exitCode = cli(process.argv.slice(2));
module.exports = { cli };
