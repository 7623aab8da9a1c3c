//! The host side of [`super::Engine`]: buffers are vectors of words, a dispatch calls the
//! stage's CPU twin through [`crate::backend::cpu::run`].

use super::Buf;
use crate::backend::Stage;

/// Host buffers.
#[derive(Debug, Default)]
pub(crate) struct CpuEngine {
    buffers: Vec<Vec<u32>>,
}

impl CpuEngine {
    pub fn upload(&mut self, words: &[u32]) -> Buf {
        self.buffers.push(words.to_vec());
        Buf(self.buffers.len() - 1)
    }

    pub fn zeros(&mut self, len: usize) -> Buf {
        self.buffers.push(vec![0; len]);
        Buf(self.buffers.len() - 1)
    }

    pub fn write(&mut self, buf: Buf, offset: usize, words: &[u32]) {
        self.buffers[buf.0][offset..offset + words.len()].copy_from_slice(words);
    }

    /// Words `offset..offset + len` of `buf`, to overwrite.
    pub fn words_mut(&mut self, buf: Buf, offset: usize, len: usize) -> &mut [u32] {
        &mut self.buffers[buf.0][offset..offset + len]
    }

    pub fn read(&self, buf: Buf, offset: usize, out: &mut [u32]) {
        out.copy_from_slice(&self.buffers[buf.0][offset..offset + out.len()]);
    }

    pub fn copy(&mut self, src: Buf, src_offset: usize, dst: Buf, dst_offset: usize, len: usize) {
        if src == dst {
            self.buffers[src.0].copy_within(src_offset..src_offset + len, dst_offset);
            return;
        }
        let data = std::mem::take(&mut self.buffers[src.0]);
        self.buffers[dst.0][dst_offset..dst_offset + len]
            .copy_from_slice(&data[src_offset..src_offset + len]);
        self.buffers[src.0] = data;
    }

    pub fn clear(&mut self, buf: Buf) {
        self.buffers[buf.0].fill(0);
    }

    /// Runs the twin of `stage`: the last buffer is its output, the others are read.
    pub fn dispatch(&mut self, stage: Stage, params: &[u8], buffers: &[Buf]) {
        self.run(buffers, |reads, out| {
            crate::backend::cpu::run(stage, params, reads, out)
        });
    }

    /// Calls `f` with the words of `buffers`: the last to write, the others to read.
    pub fn run(&mut self, buffers: &[Buf], f: impl FnOnce(&[&[u32]], &mut [u32])) {
        let (out, reads) = buffers.split_last().expect("a step writes one buffer");
        assert!(
            !reads.contains(out),
            "the output buffer is also bound for reading"
        );
        let mut output = std::mem::take(&mut self.buffers[out.0]);
        {
            let reads: Vec<&[u32]> = reads.iter().map(|b| self.buffers[b.0].as_slice()).collect();
            f(&reads, &mut output);
        }
        self.buffers[out.0] = output;
    }

    pub fn release(&mut self, buf: Buf) {
        self.buffers[buf.0] = Vec::new();
    }

    pub fn bytes(&self) -> u64 {
        4 * self.buffers.iter().map(|b| b.len() as u64).sum::<u64>()
    }
}
