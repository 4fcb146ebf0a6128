# One image for every role: `verity serve` (api), `verity worker`, `verity watch`.
FROM python:3.11-slim

# libmagic: file type detection (unstructured); nothing else is needed for the fast PDF path.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    VERITY_DATA_DIR=/data \
    VERITY_MODEL_CACHE_DIR=/models \
    VERITY_LOG_FORMAT=json

# exactly the lock, each file checked against its hash, nothing resolved: torch is the CPU
# wheel (PyTorch's CPU index), unstructured-inference comes without its requirements
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock \
      --extra-index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY answer ./answer
COPY catalog ./catalog
COPY core ./core
COPY index ./index
COPY ingest ./ingest
COPY prompts ./prompts
COPY retrieve ./retrieve
COPY schemas ./schemas
COPY verity ./verity
# a regular install: prompts, migrations and the chat page are package data
RUN pip install --no-deps .

RUN useradd --create-home verity && mkdir -p /data /models /docs \
 && chown verity /data /models /docs
USER verity
EXPOSE 8000
ENTRYPOINT ["verity"]
CMD ["serve", "--host", "0.0.0.0"]
