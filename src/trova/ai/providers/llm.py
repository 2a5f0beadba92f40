"""Vision LLM providers on pydantic-ai: `openai:<model>`, `anthropic:<model>`,
`openai-compatible:<model>@<base_url>` (vLLM, Ollama, LM Studio…).

Retries are Trova's (prefill.py), so the SDK's own retries are off (max_retries=0) and every
attempt is counted and logged once.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from trova.ai.draft import RawDraft
from trova.ai.providers.base import (
    DraftRequest,
    ProviderConfigError,
    ProviderError,
    ProviderRefusal,
    ProviderReply,
    ProviderTimeout,
)
from trova.config import Settings

USER_TEXT = "Draft the listing for the item in this photo."


class LLMProvider:
    supports_images: ClassVar[bool] = True

    def __init__(self, kind: str, model: str, settings: Settings, *, base_url: str | None = None):
        self.name = kind
        self.model = model
        self.spec = f"{kind}:{model}" + (f"@{base_url}" if base_url else "")
        self.settings = settings
        self.base_url = base_url
        self._model_obj: Any = None

    def _build_model(self) -> Any:
        """Create the pydantic-ai model once (lazily: pydantic-ai takes ~1 s to import)."""
        if self._model_obj is not None:
            return self._model_obj
        s = self.settings
        if self.name == "openai":
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
            if not key:
                raise ProviderConfigError(
                    "No API key for openai: set TROVA_OPENAI_API_KEY or use --provider local."
                )
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            self._model_obj = OpenAIChatModel(
                self.model, provider=OpenAIProvider(api_key=key, base_url=s.openai_base_url)
            )
        elif self.name == "openai-compatible":
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            key = (
                s.openai_compatible_api_key.get_secret_value()
                if s.openai_compatible_api_key
                else None
            )
            self._model_obj = OpenAIChatModel(
                self.model,
                provider=OpenAIProvider(base_url=self.base_url, api_key=key or "not-needed"),
            )
        elif self.name == "anthropic":
            key = s.anthropic_api_key.get_secret_value() if s.anthropic_api_key else None
            if not key:
                raise ProviderConfigError(
                    "No API key for anthropic: set TROVA_ANTHROPIC_API_KEY or use --provider local."
                )
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            self._model_obj = AnthropicModel(self.model, provider=AnthropicProvider(api_key=key))
        else:  # pragma: no cover - parse_spec never builds this
            raise ProviderConfigError(f"Unknown LLM provider {self.name!r}.")
        return self._model_obj

    async def describe(self, request: DraftRequest) -> ProviderReply:
        from pydantic_ai import Agent, BinaryContent, NativeOutput, ToolOutput
        from pydantic_ai import exceptions as exc

        model = self._build_model()
        # Structured output: JSON-schema response format on OpenAI-style APIs, a tool on Anthropic.
        output: Any = ToolOutput(RawDraft) if self.name == "anthropic" else NativeOutput(RawDraft)
        agent: Any = Agent(
            model, output_type=output, instructions=request.prompt.render(), retries=1
        )
        settings: dict[str, Any] = {
            "max_tokens": self.settings.llm_max_tokens,
            "temperature": 0.2,
            "timeout": self.settings.prefill_timeout_s,
            "max_retries": 0,
        }
        try:
            result = await agent.run(
                [USER_TEXT, BinaryContent(data=request.jpeg, media_type="image/jpeg")],
                model_settings=settings,
            )
        except exc.ContentFilterError as e:
            raise ProviderRefusal(f"The model refused: {e}") from None
        except exc.ModelHTTPError as e:
            retryable = e.status_code == 429 or e.status_code >= 500
            raise ProviderError(
                f"HTTP {e.status_code} from {self.name}: {_short(e.body)}", retryable=retryable
            ) from None
        except (exc.ModelTimeoutError, exc.ModelRequestTimeout) as e:
            raise ProviderTimeout(f"{self.name} timed out: {e}") from None
        except exc.ModelAPIError as e:
            raise ProviderError(
                f"{self.name} API error: {e}", retryable=isinstance(e, exc.ModelConnectionError)
            ) from None
        except exc.UnexpectedModelBehavior as e:
            raise ProviderError(f"Unusable reply from {self.name}: {e}", kind="invalid") from None
        except exc.UserError as e:
            raise ProviderConfigError(str(e)) from None
        usage = result.usage
        draft: RawDraft = result.output
        return ProviderReply(
            raw=draft,
            raw_output=json.dumps(draft.model_dump(mode="json"), ensure_ascii=False),
            model=self.model,
            tokens_in=usage.input_tokens or 0,
            tokens_out=usage.output_tokens or 0,
        )


def _short(body: object) -> str:
    text = json.dumps(body) if not isinstance(body, str) else body
    return text[:300]
