// review.js compares two CloudFormation templates for the pipeline's trusted build projects:
// Pipeline_Changes and UpdatePipeline (is a push's pipeline change one that must wait for a
// person?) and Check_Roles (is a roles stack in another account stale?). It is shipped inside
// their buildspecs, so it runs as the deployed pipeline defines it, never as a push rewrites
// it: those projects run no code from the repository.
//
//   node review.js pipeline <deployed.json> <synthesized.json>
//     prints CHANGED=true|false and GUARDED=<what of the pipeline's own controls changed>
//   node review.js roles <deployed.json> <synthesized.json> [<deployed parameters.json> <key ARN>]
//     prints what differs and exits 1 when the deployed roles stack is not the synthesized one
"use strict";
const fs = require("fs");

// Stages and actions that keep the pipeline honest: the approvals, the review of pipeline
// changes, the self-update and the roles check. Changing them needs a person even when no IAM
// statement changes, or a push could first remove a gate and then walk through it.
const guardedStage = (name) => /^Approve_/.test(name) || name === "UpdatePipeline" || name === "Check_Roles";
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
const read = (file) => JSON.parse(fs.readFileSync(file, "utf8"));

// byName indexes a list of named things (stages, actions).
function byName(list, key) {
  const out = new Map();
  for (const item of list || []) out.set(item[key], item);
  return out;
}

// pipelineStages returns the stages of the template's pipelines, keyed "<logical ID>/<stage>".
function pipelineStages(template) {
  const out = new Map();
  for (const [id, r] of Object.entries(template.Resources || {})) {
    if (r.Type !== "AWS::CodePipeline::Pipeline") continue;
    for (const [name, stage] of byName(r.Properties && r.Properties.Stages, "Name")) out.set(id + "/" + name, stage);
  }
  return out;
}

// guardedChanges lists what changed of the pipeline's controls: guarded stages added, removed or
// changed, guarded actions anywhere, and the resources named in the GUARDED_RESOURCES variable.
function guardedChanges(deployed, synthesized, guardedResources) {
  const changes = [];
  const before = pipelineStages(deployed), after = pipelineStages(synthesized);
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const name = key.slice(key.indexOf("/") + 1);
    const a = before.get(key), b = after.get(key);
    if (guardedStage(name) && !same(a, b)) {
      changes.push((a ? (b ? "changes" : "removes") : "adds") + " stage " + name);
      continue;
    }
    const actionsBefore = byName(a && a.Actions, "Name"), actionsAfter = byName(b && b.Actions, "Name");
    for (const action of new Set([...actionsBefore.keys(), ...actionsAfter.keys()])) {
      if (guardedAction(action) && !same(actionsBefore.get(action), actionsAfter.get(action))) {
        changes.push("changes action " + action);
      }
    }
  }
  const resourcesBefore = deployed.Resources || {}, resourcesAfter = synthesized.Resources || {};
  for (const id of guardedResources) {
    if (!same(resourcesBefore[id], resourcesAfter[id])) changes.push("changes resource " + id);
  }
  return changes;
}

// resourceChanges describes how two templates differ, one line per section entry.
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
  console.log("GUARDED='" + guarded.join("; ").replace(/[^A-Za-z0-9_ ;.-]/g, "") + "'");
}

function roles(args) {
  const [deployedFile, synthesizedFile, parametersFile, keyArn] = args;
  const lines = templateChanges(read(deployedFile), read(synthesizedFile));
  if (parametersFile) {
    const params = read(parametersFile) || [];
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
  if (command === "pipeline" && args.length === 2) return pipeline(args) || 0;
  if (command === "roles" && (args.length === 2 || args.length === 4)) return roles(args);
  console.error("usage: review.js pipeline <deployed.json> <synthesized.json>\n" +
    "       review.js roles <deployed.json> <synthesized.json> [<parameters.json> <key ARN>]");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
