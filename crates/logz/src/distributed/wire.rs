//! The wire format of gathered results: a flat stream of 64-bit words.
//!
//! Floating-point numbers travel as their bit patterns ([`f64::to_bits`]), so a value gathered
//! from another rank is the very same double (NaN payloads and signed zeros included) — the
//! precondition of bit-identical answers on any number of ranks.

use crate::error::{Error, Result};

/// A value that can be written to and read back from a stream of words, exactly.
pub trait Wire: Sized {
    /// Append the value's words.
    fn put(&self, out: &mut Vec<u64>);
    /// Read a value written by [`put`](Self::put).
    fn take(rd: &mut Reader) -> Result<Self>;
}

/// Reads words from a gathered buffer.
pub struct Reader<'a> {
    words: &'a [u64],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `words`.
    pub fn new(words: &'a [u64]) -> Self {
        Reader { words }
    }
    /// The next word (an error if the buffer is too short: a corrupted message).
    pub fn u64(&mut self) -> Result<u64> {
        let (&w, rest) = self.words.split_first().ok_or_else(|| {
            Error::Numerical("distributed: a gathered message is truncated".into())
        })?;
        self.words = rest;
        Ok(w)
    }
    /// A length that must fit in the words left (guards against allocating from garbage).
    fn len(&mut self) -> Result<usize> {
        let n = self.u64()? as usize;
        // Every element takes at least one word, every 8 bytes of text one word.
        if n > self.words.len().saturating_mul(8) {
            return Err(Error::Numerical(
                "distributed: a gathered message has an impossible length".into(),
            ));
        }
        Ok(n)
    }
}

impl Wire for u64 {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(*self);
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        rd.u64()
    }
}

impl Wire for usize {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(*self as u64);
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok(rd.u64()? as usize)
    }
}

impl Wire for f64 {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(self.to_bits());
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok(f64::from_bits(rd.u64()?))
    }
}

impl Wire for bool {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(u64::from(*self));
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok(rd.u64()? != 0)
    }
}

impl Wire for i8 {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(*self as u8 as u64);
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok(rd.u64()? as u8 as i8)
    }
}

impl Wire for String {
    fn put(&self, out: &mut Vec<u64>) {
        let b = self.as_bytes();
        out.push(b.len() as u64);
        for c in b.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            out.push(u64::from_le_bytes(w));
        }
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        let n = rd.len()?;
        let mut b = Vec::with_capacity(n);
        for _ in 0..n.div_ceil(8) {
            b.extend_from_slice(&rd.u64()?.to_le_bytes());
        }
        b.truncate(n);
        String::from_utf8(b)
            .map_err(|_| Error::Numerical("distributed: a gathered text is not UTF-8".into()))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, out: &mut Vec<u64>) {
        out.push(self.len() as u64);
        for x in self {
            x.put(out);
        }
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        let n = rd.len()?;
        (0..n).map(|_| T::take(rd)).collect()
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, out: &mut Vec<u64>) {
        match self {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                x.put(out);
            }
        }
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok(match rd.u64()? {
            0 => None,
            _ => Some(T::take(rd)?),
        })
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, out: &mut Vec<u64>) {
        self.0.put(out);
        self.1.put(out);
    }
    fn take(rd: &mut Reader) -> Result<Self> {
        Ok((A::take(rd)?, B::take(rd)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_bit_for_bit() {
        let v: Vec<(f64, Option<String>)> = vec![
            (f64::NAN, None),
            (-0.0, Some("ü λ = 1".into())),
            (1e-310, Some(String::new())),
            (f64::NEG_INFINITY, Some("12345678".into())),
        ];
        let mut buf = Vec::new();
        v.put(&mut buf);
        let back = Vec::<(f64, Option<String>)>::take(&mut Reader::new(&buf)).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert_eq!(a.0.to_bits(), b.0.to_bits());
            assert_eq!(a.1, b.1);
        }
    }

    #[test]
    fn truncated_or_garbage_messages_are_errors() {
        let mut buf = Vec::new();
        vec![1.0f64, 2.0].put(&mut buf);
        assert!(Vec::<f64>::take(&mut Reader::new(&buf[..2])).is_err());
        assert!(Vec::<f64>::take(&mut Reader::new(&[u64::MAX])).is_err());
    }
}
