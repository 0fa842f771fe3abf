"""The IAM policy names exactly the spec's Bedrock models (and their inference profiles)."""

from __future__ import annotations

import unittest

from stack.bedrock import model_arns, spec_models


class ModelArnsTest(unittest.TestCase):
    def test_foundation_models_and_profiles(self) -> None:
        arns = model_arns(
            [
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
            ],
            region="us-east-1",
            account="123456789012",
        )
        self.assertEqual(
            arns,
            [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
            ],
        )

    def test_openai_models_get_no_bedrock_grant(self) -> None:
        spec = {
            "agents_config": {"a": {"model": "openai:gpt-4o-mini"}, "b": {"model": "anthropic.x"}}
        }
        self.assertEqual(spec_models(spec), ["anthropic.x"])


if __name__ == "__main__":
    unittest.main()
