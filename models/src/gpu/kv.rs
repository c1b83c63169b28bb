//! KV-cache capacity of one replica, in 16-token blocks.
//!
//! Once the KV cache saturates, capacity rather than compute decides time to first token, so the
//! block count must be exact: it is computed here in integer bytes, never through floats, and a
//! fraction of memory is given in parts per million so that `0.9` means exactly 900 000 ppm.

/// Tokens per KV block (vLLM's default paged-attention block size).
pub const BLOCK_TOKENS: u32 = 16;

/// The shape of a transformer that decides how many bytes one token of KV cache takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub layers: u32,
    /// Key/value heads (fewer than query heads under grouped-query attention).
    pub kv_heads: u32,
    pub head_dim: u32,
    /// Bytes per stored element: 2 for fp16/bf16, 1 for fp8.
    pub bytes_per_element: u32,
}

impl ModelShape {
    /// Llama-2-7B: 32 layers, 32 KV heads of dimension 128, fp16.
    pub const LLAMA2_7B_FP16: ModelShape = ModelShape {
        layers: 32,
        kv_heads: 32,
        head_dim: 128,
        bytes_per_element: 2,
    };
    /// Llama-2-70B: 80 layers, 8 KV heads (grouped-query attention) of dimension 128, fp16.
    pub const LLAMA2_70B_FP16: ModelShape = ModelShape {
        layers: 80,
        kv_heads: 8,
        head_dim: 128,
        bytes_per_element: 2,
    };

    /// KV bytes per token = 2 (K and V) × bytes per element × head_dim × kv_heads × layers.
    /// Computed in `u64` from `u32` factors; saturates instead of overflowing.
    pub fn kv_bytes_per_token(&self) -> u64 {
        2u64.saturating_mul(self.bytes_per_element as u64)
            .saturating_mul(self.head_dim as u64)
            .saturating_mul(self.kv_heads as u64)
            .saturating_mul(self.layers as u64)
    }

    /// KV bytes per 16-token block.
    pub fn kv_bytes_per_block(&self) -> u64 {
        self.kv_bytes_per_token()
            .saturating_mul(BLOCK_TOKENS as u64)
    }
}

/// What a replica's KV capacity is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvSpec {
    /// Capacity stated directly, in blocks.
    Blocks(u32),
    /// Capacity derived from the hardware and the model.
    Memory {
        /// Memory of one GPU, in bytes (an "80 GB" A100 has 80 GiB = 85 899 345 920 bytes).
        gpu_memory_bytes: u64,
        /// GPUs the replica spans (its tensor-parallel degree); memory adds up across them.
        gpus: u32,
        /// Share of memory the server may use (vLLM's `gpu_memory_utilization`), in parts per
        /// million.
        memory_fraction_ppm: u32,
        /// Bytes that are not KV cache: the weights (parameters × bytes per parameter), plus any
        /// activation and runtime reserve the user wants to account for.
        reserved_bytes: u64,
        shape: ModelShape,
    },
}

impl KvSpec {
    /// The number of whole 16-token blocks the replica holds.
    ///
    /// `floor((gpus × memory × fraction_ppm / 10⁶ − reserved) / (16 × kv_bytes_per_token))`, all
    /// in integers (`u128` intermediates, so no input can overflow). Errors when the weights do
    /// not fit, when not even one block fits, or on a zero-sized shape.
    pub fn blocks(&self) -> Result<u32, String> {
        match *self {
            KvSpec::Blocks(0) => Err("KV capacity must be at least one block".into()),
            KvSpec::Blocks(n) => Ok(n),
            KvSpec::Memory {
                gpu_memory_bytes,
                gpus,
                memory_fraction_ppm,
                reserved_bytes,
                shape,
            } => {
                if gpus == 0 {
                    return Err("a replica needs at least one GPU".into());
                }
                if memory_fraction_ppm == 0 || memory_fraction_ppm > 1_000_000 {
                    return Err(format!(
                        "memory fraction {memory_fraction_ppm} ppm is outside (0, 1 000 000]"
                    ));
                }
                let per_block = shape.kv_bytes_per_block() as u128;
                if per_block == 0 {
                    return Err("model shape gives zero KV bytes per token".into());
                }
                let usable = gpu_memory_bytes as u128 * gpus as u128 * memory_fraction_ppm as u128
                    / 1_000_000;
                let reserved = reserved_bytes as u128;
                if reserved >= usable {
                    return Err(format!(
                        "reserved bytes {reserved_bytes} do not fit in the usable memory {usable}"
                    ));
                }
                let blocks = (usable - reserved) / per_block;
                if blocks == 0 {
                    return Err("not even one KV block fits after the weights".into());
                }
                Ok(u32::try_from(blocks).unwrap_or(u32::MAX))
            }
        }
    }
}

/// Blocks needed to hold `tokens` tokens of KV cache.
#[inline]
pub fn blocks_for(tokens: u64) -> u64 {
    tokens.div_ceil(BLOCK_TOKENS as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama2_7b_on_a100_80gb_at_0_9() {
        // Hand computation:
        //   memory  = 80 GiB = 85 899 345 920 B; × 0.9 = 77 309 411 328 B
        //   weights = 6.74e9 params × 2 B = 13 480 000 000 B
        //   free    = 77 309 411 328 − 13 480 000 000 = 63 829 411 328 B
        //   KV/token = 2 × 2 B × 128 × 32 × 32 = 524 288 B; per 16-token block 8 388 608 B (8 MiB)
        //   blocks  = floor(63 829 411 328 / 8 388 608) = floor(7609.04…) = 7609
        let spec = KvSpec::Memory {
            gpu_memory_bytes: 80 << 30,
            gpus: 1,
            memory_fraction_ppm: 900_000,
            reserved_bytes: 6_740_000_000 * 2,
            shape: ModelShape::LLAMA2_7B_FP16,
        };
        assert_eq!(ModelShape::LLAMA2_7B_FP16.kv_bytes_per_token(), 524_288);
        assert_eq!(spec.blocks(), Ok(7609));
    }

    #[test]
    fn llama2_70b_tp4_on_h100() {
        // 4 × 80 GiB × 0.9 = 309 237 645 312 B; weights 68.98e9 × 2 = 137 960 000 000 B;
        // free 171 277 645 312 B; KV/token = 2 × 2 × 128 × 8 × 80 = 327 680 B, block 5 242 880 B;
        // blocks = floor(32 668.6…) = 32 668.
        let spec = KvSpec::Memory {
            gpu_memory_bytes: 80 << 30,
            gpus: 4,
            memory_fraction_ppm: 900_000,
            reserved_bytes: 68_980_000_000 * 2,
            shape: ModelShape::LLAMA2_70B_FP16,
        };
        assert_eq!(spec.blocks(), Ok(32_668));
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let shape = ModelShape::LLAMA2_7B_FP16;
        let mk = |mem, gpus, ppm, res, shape| KvSpec::Memory {
            gpu_memory_bytes: mem,
            gpus,
            memory_fraction_ppm: ppm,
            reserved_bytes: res,
            shape,
        };
        assert!(mk(80 << 30, 1, 900_000, 80 << 30, shape).blocks().is_err());
        assert!(mk(80 << 30, 0, 900_000, 0, shape).blocks().is_err());
        assert!(mk(80 << 30, 1, 0, 0, shape).blocks().is_err());
        assert!(mk(80 << 30, 1, 2_000_000, 0, shape).blocks().is_err());
        let zero = ModelShape { layers: 0, ..shape };
        assert!(mk(80 << 30, 1, 900_000, 0, zero).blocks().is_err());
        assert!(mk(u64::MAX, u32::MAX, 1_000_000, 0, shape).blocks().is_ok());
        assert!(KvSpec::Blocks(0).blocks().is_err());
    }
}
