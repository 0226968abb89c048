/work/main/target-ci/debug/deps/zeroize_derive-60a444f366abb07a.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/zeroize_derive-1.5.0/src/lib.rs

/work/main/target-ci/debug/deps/libzeroize_derive-60a444f366abb07a.so: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/zeroize_derive-1.5.0/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/zeroize_derive-1.5.0/src/lib.rs:
