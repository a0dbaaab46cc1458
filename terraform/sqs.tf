# The task queue and its dead-letter queue. Celery never creates queues (app/celery_config.py
# predefines this one), so the redrive policy set here is the one every message gets.

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.image_processing_queue_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's maximum: time to inspect and redrive
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "main" {
  name = var.image_processing_queue_name

  # Above the Celery hard time limit (variable validation enforces it), so a message a worker
  # is still processing never becomes visible to a second worker.
  visibility_timeout_seconds = var.sqs_visibility_timeout
  message_retention_seconds  = 345600 # 4 days
  receive_wait_time_seconds  = 10     # long polling, as kombu's wait_time_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main.arn]
  })
}
