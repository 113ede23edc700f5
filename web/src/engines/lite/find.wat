;; The lite engine's search for line ends in a chunk of bytes (find.js):
;; CR or LF, sixteen bytes at a time with WebAssembly's SIMD, in a copy of
;; the chunk at the start of this module's memory. Uint8Array's indexOf,
;; one byte at a time and once for each of the two bytes, took a third of
;; the lite engine's time on UTF-8 events (docs/benchmarks.md, session 10).
;; web/tools/find.mjs assembles it at build time; browsers without SIMD
;; reject the module (WebAssembly.validate) and search as before.
(module
  (memory (export "m") 1)

  ;; f(i, n): the first position in [i, n) that holds CR or LF, or -1.
  (func (export "f") (param $i i32) (param $n i32) (result i32)
    (local $v v128)
    (local $mask i32)
    (block $tail
      (loop $block
        (br_if $tail (i32.gt_s (i32.add (local.get $i) (i32.const 16)) (local.get $n)))
        (local.set $v (v128.load (local.get $i)))
        (local.set $mask
          (i8x16.bitmask
            (v128.or
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 13))))))
        ;; Bit k of the mask is byte i + k: the lowest set bit is the first.
        (if (local.get $mask)
          (then (return (i32.add (local.get $i) (i32.ctz (local.get $mask))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $block)))
    (block $none
      (loop $byte
        (br_if $none (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $mask (i32.load8_u (local.get $i)))
        (if (i32.or (i32.eq (local.get $mask) (i32.const 10)) (i32.eq (local.get $mask) (i32.const 13)))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte)))
    (i32.const -1))

  ;; l(i, n): the last position in [i, n) that holds CR or LF, or -1.
  (func (export "l") (param $i i32) (param $n i32) (result i32)
    (local $v v128)
    (local $mask i32)
    (block $tail
      (loop $block
        (br_if $tail (i32.lt_s (i32.sub (local.get $n) (local.get $i)) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 16)))
        (local.set $v (v128.load (local.get $n)))
        (local.set $mask
          (i8x16.bitmask
            (v128.or
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 13))))))
        ;; The highest set bit of the 16-bit mask is the last.
        (if (local.get $mask)
          (then (return (i32.sub (i32.add (local.get $n) (i32.const 31)) (i32.clz (local.get $mask))))))
        (br $block)))
    (block $none
      (loop $byte
        (br_if $none (i32.le_s (local.get $n) (local.get $i)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $mask (i32.load8_u (local.get $n)))
        (if (i32.or (i32.eq (local.get $mask) (i32.const 10)) (i32.eq (local.get $mask) (i32.const 13)))
          (then (return (local.get $n))))
        (br $byte)))
    (i32.const -1)))
