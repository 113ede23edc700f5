;; The lite engine's search for line ends in a chunk of bytes (find.js):
;; CR or LF, sixteen bytes at a time with WebAssembly's SIMD, in a copy of
;; the chunk at the start of this module's memory (and a's list of
;; positions after it). Uint8Array's indexOf, one byte at a time and once
;; for each of the two bytes, took a third of the lite engine's time on
;; UTF-8 events (docs/benchmarks.md, session 10). web/tools/find.mjs
;; assembles it at build time; browsers without SIMD reject the module
;; (WebAssembly.validate) and search as before.
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

  ;; a(i, n, out, cap): the positions in [i, n) that hold CR or LF, in order,
  ;; written from out on as i32s, at most cap of them; returns how many. A
  ;; caller that got cap asks again from after the last.
  (func (export "a") (param $i i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (local $v v128)
    (local $mask i32)
    (local $k i32)
    (block $done
      (block $tail
        (loop $block
          (br_if $tail (i32.gt_s (i32.add (local.get $i) (i32.const 16)) (local.get $n)))
          (local.set $v (v128.load (local.get $i)))
          (local.set $mask
            (i8x16.bitmask
              (v128.or
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 13))))))
          ;; Each set bit, lowest first, then cleared.
          (block $bits
            (loop $bit
              (br_if $bits (i32.eqz (local.get $mask)))
              (i32.store
                (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
                (i32.add (local.get $i) (i32.ctz (local.get $mask))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $done (i32.eq (local.get $k) (local.get $cap)))
              (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
              (br $bit)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $block)))
      (loop $byte
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $mask (i32.load8_u (local.get $i)))
        (if (i32.or (i32.eq (local.get $mask) (i32.const 10)) (i32.eq (local.get $mask) (i32.const 13)))
          (then
            (i32.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2))) (local.get $i))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $done (i32.eq (local.get $k) (local.get $cap)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte)))
    (local.get $k))

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
