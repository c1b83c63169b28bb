//! Transformer architectures, as their Hugging Face `config.json` describes them, and what
//! follows from one for serving: parameters and weight bytes per GPU, KV bytes per token per GPU
//! (with vLLM's KV-head replication when the tensor-parallel degree exceeds the KV heads), and the
//! FLOPs of a forward pass.
//!
//! Only dense decoder-only models (Llama, Mistral, Qwen2, Yi and the like) are described: gated
//! MLP (`gate`, `up`, `down`), grouped-query attention, RMS norms, optional QKV bias.

use serde::Deserialize;

/// A dense decoder-only transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Architecture {
    pub layers: u32,
    pub hidden: u32,
    /// MLP width (`intermediate_size`).
    pub intermediate: u32,
    /// Query heads.
    pub heads: u32,
    /// Key/value heads (fewer than `heads` under grouped-query attention).
    pub kv_heads: u32,
    pub head_dim: u32,
    pub vocab: u32,
    /// Whether the LM head shares the embedding matrix.
    pub tied_embeddings: bool,
    /// Whether the Q, K and V projections carry a bias (Qwen2).
    pub qkv_bias: bool,
    /// Bytes per weight and per KV element: 2 for fp16/bf16.
    pub dtype_bytes: u32,
}

/// The fields of a Hugging Face `config.json` that decide serving cost. Unknown fields are
/// ignored: real configs carry dozens that do not matter here.
#[derive(Debug, Clone, Deserialize)]
pub struct HfConfig {
    pub hidden_size: u32,
    pub intermediate_size: u32,
    pub num_attention_heads: u32,
    #[serde(default)]
    pub num_key_value_heads: Option<u32>,
    pub num_hidden_layers: u32,
    pub vocab_size: u32,
    #[serde(default)]
    pub head_dim: Option<u32>,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub torch_dtype: Option<String>,
    #[serde(default)]
    pub architectures: Vec<String>,
}

impl HfConfig {
    /// The architecture this config describes; errors name the field that is wrong.
    pub fn architecture(&self) -> Result<Architecture, String> {
        let positive = |name: &str, v: u32| {
            if v == 0 {
                Err(format!("`{name}` must be at least 1"))
            } else {
                Ok(v)
            }
        };
        let heads = positive("num_attention_heads", self.num_attention_heads)?;
        let hidden = positive("hidden_size", self.hidden_size)?;
        let kv_heads = positive(
            "num_key_value_heads",
            self.num_key_value_heads.unwrap_or(heads),
        )?;
        if heads % kv_heads != 0 {
            return Err(format!(
                "`num_attention_heads` ({heads}) must be a multiple of `num_key_value_heads` ({kv_heads})"
            ));
        }
        let head_dim = match self.head_dim {
            Some(d) => positive("head_dim", d)?,
            None if hidden % heads == 0 => hidden / heads,
            None => {
                return Err(format!(
                    "`hidden_size` ({hidden}) is not a multiple of `num_attention_heads` ({heads}); give `head_dim`"
                ));
            }
        };
        let dtype_bytes = match self.torch_dtype.as_deref() {
            None | Some("float16") | Some("bfloat16") => 2,
            Some("float32") => 4,
            Some(other) => {
                return Err(format!(
                    "`torch_dtype` `{other}` is not supported; expected float16, bfloat16 or float32"
                ));
            }
        };
        let qkv_bias = self.architectures.iter().any(|a| a.starts_with("Qwen2"));
        Ok(Architecture {
            layers: positive("num_hidden_layers", self.num_hidden_layers)?,
            hidden,
            intermediate: positive("intermediate_size", self.intermediate_size)?,
            heads,
            kv_heads,
            head_dim,
            vocab: positive("vocab_size", self.vocab_size)?,
            tied_embeddings: self.tie_word_embeddings,
            qkv_bias,
            dtype_bytes,
        })
    }
}

/// A named entry of the built-in catalogue, with the repository its `config.json` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueModel {
    pub name: &'static str,
    pub hf_repo: &'static str,
    pub arch: Architecture,
}

const fn llama(
    layers: u32,
    hidden: u32,
    intermediate: u32,
    heads: u32,
    kv_heads: u32,
    vocab: u32,
) -> Architecture {
    Architecture {
        layers,
        hidden,
        intermediate,
        heads,
        kv_heads,
        head_dim: hidden / heads,
        vocab,
        tied_embeddings: false,
        qkv_bias: false,
        dtype_bytes: 2,
    }
}

/// Common open models, from the `config.json` of the named Hugging Face repository.
pub const CATALOGUE: [CatalogueModel; 10] = [
    CatalogueModel {
        name: "llama-2-7b",
        hf_repo: "meta-llama/Llama-2-7b-hf",
        arch: llama(32, 4096, 11008, 32, 32, 32000),
    },
    CatalogueModel {
        name: "llama-2-13b",
        hf_repo: "meta-llama/Llama-2-13b-hf",
        arch: llama(40, 5120, 13824, 40, 40, 32000),
    },
    CatalogueModel {
        name: "llama-2-70b",
        hf_repo: "meta-llama/Llama-2-70b-hf",
        arch: llama(80, 8192, 28672, 64, 8, 32000),
    },
    CatalogueModel {
        name: "llama-3.1-8b",
        hf_repo: "meta-llama/Llama-3.1-8B-Instruct",
        arch: llama(32, 4096, 14336, 32, 8, 128256),
    },
    CatalogueModel {
        name: "llama-3.1-70b",
        hf_repo: "meta-llama/Llama-3.1-70B-Instruct",
        arch: llama(80, 8192, 28672, 64, 8, 128256),
    },
    CatalogueModel {
        name: "mistral-7b",
        hf_repo: "mistralai/Mistral-7B-Instruct-v0.3",
        arch: llama(32, 4096, 14336, 32, 8, 32768),
    },
    CatalogueModel {
        name: "mistral-nemo-12b",
        hf_repo: "mistralai/Mistral-Nemo-Instruct-2407",
        arch: Architecture {
            head_dim: 128,
            ..llama(40, 5120, 14336, 32, 8, 131072)
        },
    },
    CatalogueModel {
        name: "qwen2.5-7b",
        hf_repo: "Qwen/Qwen2.5-7B-Instruct",
        arch: Architecture {
            qkv_bias: true,
            ..llama(28, 3584, 18944, 28, 4, 152064)
        },
    },
    CatalogueModel {
        name: "qwen2.5-72b",
        hf_repo: "Qwen/Qwen2.5-72B-Instruct",
        arch: Architecture {
            qkv_bias: true,
            ..llama(80, 8192, 29568, 64, 8, 152064)
        },
    },
    CatalogueModel {
        name: "yi-34b",
        hf_repo: "01-ai/Yi-34B",
        arch: llama(60, 7168, 20480, 56, 8, 64000),
    },
];

/// Looks a catalogue model up by its short name or its Hugging Face repository.
pub fn catalogue_model(name: &str) -> Option<CatalogueModel> {
    CATALOGUE
        .iter()
        .copied()
        .find(|m| m.name == name || m.hf_repo == name)
}

impl Architecture {
    /// Parameters of one transformer layer: attention projections (Q and O of `heads ×
    /// head_dim`, K and V of `kv_heads × head_dim`, plus their bias if any), the gated MLP
    /// (three `hidden × intermediate` matrices) and two RMS norms.
    pub fn layer_params(&self) -> u64 {
        let h = self.hidden as u64;
        let q = self.heads as u64 * self.head_dim as u64;
        let kv = self.kv_heads as u64 * self.head_dim as u64;
        let bias = if self.qkv_bias { q + 2 * kv } else { 0 };
        2 * h * q + 2 * h * kv + bias + 3 * h * self.intermediate as u64 + 2 * h
    }

    /// Embedding (and LM head, unless tied) parameters.
    pub fn vocab_params(&self) -> u64 {
        let e = self.vocab as u64 * self.hidden as u64;
        if self.tied_embeddings { e } else { 2 * e }
    }

    /// Every parameter: layers, embeddings, LM head and the final norm.
    pub fn params(&self) -> u64 {
        self.layers as u64 * self.layer_params() + self.vocab_params() + self.hidden as u64
    }

    /// Weight bytes one GPU holds at tensor-parallel degree `tp`: everything is sharded (the
    /// embedding and LM head by vocabulary), so a `tp`-th of the whole, rounded up.
    pub fn weight_bytes_per_gpu(&self, tp: u32) -> u64 {
        (self.params() * self.dtype_bytes as u64).div_ceil(tp.max(1) as u64)
    }

    /// KV heads one GPU stores at degree `tp`. When `tp` exceeds the KV heads, vLLM replicates
    /// each KV head so every rank holds one; otherwise the heads are split evenly.
    pub fn kv_heads_per_gpu(&self, tp: u32) -> u32 {
        let tp = tp.max(1);
        if tp >= self.kv_heads {
            1
        } else {
            self.kv_heads.div_ceil(tp)
        }
    }

    /// KV-cache bytes one token takes on one GPU: K and V × head_dim × KV heads on that GPU ×
    /// layers × bytes per element.
    pub fn kv_bytes_per_token_per_gpu(&self, tp: u32) -> u64 {
        2 * self.head_dim as u64
            * self.kv_heads_per_gpu(tp) as u64
            * self.layers as u64
            * self.dtype_bytes as u64
    }

    /// FLOPs of the matrix multiplies one token makes through the layers (2 per weight of the
    /// attention projections and the MLP), excluding the LM head and attention scores.
    pub fn gemm_flops_per_token(&self) -> u64 {
        let h = self.hidden as u64;
        let q = self.heads as u64 * self.head_dim as u64;
        let kv = self.kv_heads as u64 * self.head_dim as u64;
        let per_layer = 2 * h * q + 2 * h * kv + 3 * h * self.intermediate as u64;
        2 * self.layers as u64 * per_layer
    }

    /// FLOPs of the LM head for one sampled token.
    pub fn head_flops_per_token(&self) -> u64 {
        2 * self.vocab as u64 * self.hidden as u64
    }

    /// Attention-score FLOPs per (query, key) pair across all layers: `QKᵀ` and `PV`, each
    /// `2 × head_dim` per head.
    pub fn attention_flops_per_pair(&self) -> u64 {
        4 * self.heads as u64 * self.head_dim as u64 * self.layers as u64
    }

    /// Bytes one all-reduce moves per token (the hidden state), two of them per layer.
    pub fn allreduce_bytes_per_token(&self) -> u64 {
        self.hidden as u64 * self.dtype_bytes as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_2_7b_has_its_published_parameter_count() {
        // Meta's model card: 6.74B parameters; the exact count from the checkpoint is
        // 6 738 415 616.
        let a = catalogue_model("llama-2-7b").unwrap().arch;
        assert_eq!(a.params(), 6_738_415_616);
        // 2 × 2 B × 128 × 32 heads × 32 layers = 512 KiB per token.
        assert_eq!(a.kv_bytes_per_token_per_gpu(1), 524_288);
    }

    #[test]
    fn llama_3_1_70b_and_qwen_match_their_checkpoints() {
        // Safetensors index totals: Llama-3.1-70B 70 553 706 496 parameters; Qwen2.5-7B
        // 7 615 616 512 (bias on Q, K, V).
        assert_eq!(
            catalogue_model("llama-3.1-70b").unwrap().arch.params(),
            70_553_706_496
        );
        assert_eq!(
            catalogue_model("qwen2.5-7b").unwrap().arch.params(),
            7_615_616_512
        );
    }

    #[test]
    fn kv_heads_are_replicated_beyond_their_count() {
        let a = catalogue_model("llama-3.1-70b").unwrap().arch; // 8 KV heads
        assert_eq!(a.kv_heads_per_gpu(1), 8);
        assert_eq!(a.kv_heads_per_gpu(4), 2);
        assert_eq!(a.kv_heads_per_gpu(8), 1);
        assert_eq!(a.kv_heads_per_gpu(16), 1);
        // At TP16 each GPU still stores a whole KV head: per-GPU KV does not keep shrinking.
        assert_eq!(
            a.kv_bytes_per_token_per_gpu(16),
            a.kv_bytes_per_token_per_gpu(8)
        );
    }

    #[test]
    fn config_json_errors_name_the_field() {
        let parse = |s: &str| {
            serde_json::from_str::<HfConfig>(s)
                .map_err(|e| e.to_string())
                .and_then(|c| c.architecture())
        };
        let ok = r#"{"hidden_size":4096,"intermediate_size":11008,"num_attention_heads":32,
            "num_hidden_layers":32,"vocab_size":32000,"torch_dtype":"float16","rope_theta":1e4}"#;
        assert_eq!(
            parse(ok).unwrap(),
            catalogue_model("llama-2-7b").unwrap().arch
        );
        let bad_heads = ok.replace("\"num_attention_heads\":32", "\"num_attention_heads\":0");
        assert!(
            parse(&bad_heads)
                .unwrap_err()
                .contains("num_attention_heads")
        );
        let gqa = ok.replace("\"vocab_size\"", "\"num_key_value_heads\":5,\"vocab_size\"");
        assert!(parse(&gqa).unwrap_err().contains("multiple"));
        let fp8 = ok.replace("float16", "float8");
        assert!(parse(&fp8).unwrap_err().contains("torch_dtype"));
    }
}
