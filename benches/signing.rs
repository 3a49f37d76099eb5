//! ECDSA P-256 (SHA-256, ASN.1 DER signatures) sign and verify: the RustCrypto `p256`
//! crate vs `aws-lc-rs` (hallmark's provider), over a 1 KiB message (a typical DSSE PAE
//! of a small statement). Run: `cargo bench --bench signing`.
#![allow(missing_docs, clippy::panic)] // criterion macros; a broken setup panics.

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, KeyPair as _, ParsedPublicKey, UnparsedPublicKey,
};
use criterion::{Criterion, criterion_group, criterion_main};
use p256::ecdsa::signature::{Signer as _, Verifier as _};

fn message() -> Vec<u8> {
    hallmark::dsse::pae(hallmark::dsse::IN_TOTO_PAYLOAD_TYPE, &[b'x'; 1024 - 48])
}

fn bench_sign(c: &mut Criterion) {
    let msg = message();
    let mut g = c.benchmark_group("ecdsa_p256_sign");

    let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    g.bench_function("p256", |b| {
        b.iter(|| {
            let s: p256::ecdsa::Signature = sk.sign(black_box(&msg));
            black_box(s.to_der())
        });
    });

    let kp = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING)
        .unwrap_or_else(|e| panic!("{e}"));
    let rng = SystemRandom::new();
    g.bench_function("aws-lc-rs", |b| {
        b.iter(|| {
            black_box(
                kp.sign(&rng, black_box(&msg))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        });
    });

    let signer = hallmark::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("hallmark-LocalSigner", |b| {
        b.iter(|| {
            black_box(
                hallmark::signing::Signer::sign(&signer, black_box(&msg))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        });
    });
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let msg = message();
    let mut g = c.benchmark_group("ecdsa_p256_verify");

    let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let vk = *sk.verifying_key();
    let der = {
        let s: p256::ecdsa::Signature = sk.sign(&msg);
        s.to_der().as_bytes().to_vec()
    };
    g.bench_function("p256", |b| {
        b.iter(|| {
            let s =
                p256::ecdsa::Signature::from_der(black_box(&der)).unwrap_or_else(|e| panic!("{e}"));
            black_box(vk.verify(black_box(&msg), &s).is_ok())
        });
    });

    let kp = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING)
        .unwrap_or_else(|e| panic!("{e}"));
    let aws_sig = kp
        .sign(&SystemRandom::new(), &msg)
        .unwrap_or_else(|e| panic!("{e}"));
    let point = kp.public_key().as_ref().to_vec();
    let parsed = ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point)
        .unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("aws-lc-rs-parsed-key", |b| {
        b.iter(|| black_box(parsed.verify_sig(black_box(&msg), aws_sig.as_ref()).is_ok()));
    });
    g.bench_function("aws-lc-rs-unparsed-key", |b| {
        b.iter(|| {
            let k = UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point);
            black_box(k.verify(black_box(&msg), aws_sig.as_ref()).is_ok())
        });
    });
    g.finish();
}

criterion_group!(benches, bench_sign, bench_verify);
criterion_main!(benches);
