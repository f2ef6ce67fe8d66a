#!/usr/bin/env bash
# The deployments under deploy/, tested offline:
#   0. the Kubernetes manifest: it parses, and its probes, user, volume and settings are the ones
#      the binary and the image have;
# and the Lambda deployment's CDK app (deploy/cdk):
#   1. its npm packages, pinned in package-lock.json, are installed (once);
#   2. node's test runner runs deploy/cdk/test/, aws-cdk-lib/assertions on the synthesized template;
#   3. `cdk synth` runs with the Lambda zip of build/ and no network at all (in a network namespace
#      of its own where this runs as root);
#   4. cfn-lint checks the template, where cfn-lint is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh >/dev/null
node=$(scripts/stack.sh node)
zip="$root/build/quiz-result-loader-lambda.zip"
[ -f "$zip" ] || cmake --build build --target lambda-zip >/dev/null

echo "== Kubernetes manifest"
/usr/bin/python3 -c 'import yaml' 2>/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml >/dev/null
/usr/bin/python3 - deploy/kubernetes/quiz-result-loader.yaml <<'PY'
import sys, yaml
deployment = yaml.safe_load(open(sys.argv[1]))
pod = deployment["spec"]["template"]["spec"]
container = pod["containers"][0]
env = {e["name"]: e.get("value") for e in container["env"]}
problems = []
def expect(what, ok):
    if not ok: problems.append(what)
expect("serve is the command", container["args"] == ["serve"])
expect("the metrics port is the probes' port", env["LOADER_METRICS_PORT"] == str(container["ports"][0]["containerPort"]))
expect("liveness is /healthz", container["livenessProbe"]["httpGet"]["path"] == "/healthz")
expect("readiness is /readyz", container["readinessProbe"]["httpGet"]["path"] == "/readyz")
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
expect("the question-set volume is mounted at QUESTION_SET_PATH", mounts.get("question-sets") == env["QUESTION_SET_PATH"])
expect("it runs as the image's user", pod["securityContext"]["runAsUser"] == 10001)
expect("fsGroup gives it the volume", pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"])
expect("the grace period covers the drain (30 s)", pod["terminationGracePeriodSeconds"] > 30)
expect("the settings come from a secret", container["envFrom"][0]["secretRef"]["name"])
print("\n".join(problems) or "manifest: probes, user, volume and settings agree with the image")
sys.exit(1 if problems else 0)
PY

cd deploy/cdk
if [ ! -d node_modules/aws-cdk-lib ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

echo "== CDK app: assertion tests"
"$node" --test test/

echo "== CDK app: cdk synth, offline"
offline=()
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then offline=(unshare --net); fi
rm -rf cdk.out
"${offline[@]}" "$node" node_modules/aws-cdk/bin/cdk synth --no-notices --quiet --app "$node bin/app.js" \
  -c redisHost=redis.internal -c zip="$zip" >/dev/null
template=cdk.out/QuizResultLoader.template.json
[ -s "$template" ] || { echo "cdk synth wrote no template" >&2; exit 1; }
where="with the network"
[ ${#offline[@]} = 0 ] || where="with no network"
echo "synthesized $where: $(grep -c '"Type": "AWS::' "$template") resources"

if command -v cfn-lint >/dev/null; then
  echo "== CDK app: cfn-lint"
  # W3005: CDK states the function's dependency on its role twice (DependsOn and GetAtt).
  cfn-lint --ignore-checks W3005 -- "$template"
  echo "cfn-lint: clean"
else
  echo "== CDK app: cfn-lint is not installed; skipped"
fi
