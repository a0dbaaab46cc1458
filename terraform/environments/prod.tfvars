# terraform plan -var-file=environments/prod.tfvars
environment = "production"
aws_region  = "us-east-1"
vpc_cidr    = "10.41.0.0/16"

# Created by hand before the first apply (docs/deployment.md); terraform only reads the ARNs.
database_secret_arn          = "arn:aws:secretsmanager:us-east-1:222222222222:secret:image-processor/production/database-AbCdEf"
api_key_secret_arn           = "arn:aws:secretsmanager:us-east-1:222222222222:secret:image-processor/production/api-key-AbCdEf"
flower_basic_auth_secret_arn = "arn:aws:secretsmanager:us-east-1:222222222222:secret:image-processor/production/flower-basic-auth-AbCdEf"
events_auth_token_secret_arn = "arn:aws:secretsmanager:us-east-1:222222222222:secret:image-processor/production/events-auth-token-AbCdEf"
api_certificate_arn          = "arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-0000-0000-000000000000"
api_domain_name              = "api.example.com"
flower_certificate_arn       = "arn:aws:acm:us-east-1:222222222222:certificate/11111111-1111-1111-1111-111111111111"

image_processing_queue_name = "image-processing"
images_bucket               = "image-processor-production-images-222222222222"

# flower_allowed_cidrs: the operators' VPN or office CIDR; unset, the VPC's own (a bastion in it,
# or a Client VPN endpoint associated with it).
worker_min_count        = 0
worker_max_count        = 20
api_desired_count       = 2
database_instance_class = "db.t4g.small"
valkey_replicas         = 1
log_retention_days      = 90
alarm_email             = "oncall@example.com"

# Build once, promote by digest: the deploy reads the image staging's smoke test passed from
# staging's repositories (account 111111111111, whose staging.tfvars lets this account pull).
# No other account pulls from production's repositories.
ecr_pull_account_ids = []
promote_from_repository_arns = [
  "arn:aws:ecr:us-east-1:111111111111:repository/image-processor-staging",
  "arn:aws:ecr:us-east-1:111111111111:repository/image-processor-staging-api",
]

github_repository = "example-org/image-processor"
