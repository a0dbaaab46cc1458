# The alarm topic's key. SNS encrypts each alarm under the publisher's permission to use the key,
# and CloudWatch publishes as the service principal cloudwatch.amazonaws.com. The AWS-managed
# key alias/aws/sns has a key policy nobody can edit, which grants no service principal, so
# alarms sent to a topic under it are dropped without a trace. A key of our own can say yes.

resource "aws_kms_key" "alarms" {
  description             = "${local.name_prefix}: encrypts the alarm topic; CloudWatch may use it to publish alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_key.json
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${local.name_prefix}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

data "aws_iam_policy_document" "alarms_key" {
  # checkov:skip=CKV_AWS_109: a key policy's Resource "*" is this key alone; administration is delegated to the account's IAM policies.
  # checkov:skip=CKV_AWS_111: as above, Resource "*" in a key policy names only the key the policy is attached to.
  # checkov:skip=CKV_AWS_356: as above, a key policy cannot name its own key other than with Resource "*".

  # The account administers the key through IAM (the usual delegation to the account root),
  # action by action instead of kms:*: it may manage the key but not use it. PutKeyPolicy stays
  # in the list so the key can never become unmanageable.
  statement {
    sid = "AccountAdministersTheKey"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }

  # What SNS asks of a publisher to an encrypted topic: a data key to encrypt the message with
  # (GenerateDataKey) and the right to read it back (Decrypt). AWS's SNS page writes
  # kms:GenerateDataKey*; the service calls GenerateDataKey alone (the SNS examples of GameLift
  # and End User Messaging grant exactly that), and this repository grants no wildcard action.
  # Only alarms of this account may ask (aws:SourceAccount, against the confused deputy).
  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # ECS's placement failures reach the same topic through EventBridge (cloudwatch.tf).
  statement {
    sid       = "EventBridgePublishesPlacementFailures"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
