//! The header-match test: the hand-written declarations of `mhc::sys` against what the C compiler
//! says about `include/mhc/mhc.h`. The facts come from `mhc_abi_facts`, a C program the CMake
//! build generates from the header and runs (bindings/cmake/MhcBindings.cmake); ctest passes
//! its output as MHC_ABI_FACTS. Both directions are checked: everything the header has must be
//! declared here with the same value, size, alignment, signedness and offset, and everything
//! declared here must be in the header.
use std::collections::BTreeMap;
use std::mem::{align_of, size_of, MaybeUninit};

use mhc::sys::*;

struct Facts {
    consts: BTreeMap<String, i64>,
    typedefs: BTreeMap<String, (usize, usize, bool)>,
    structs: BTreeMap<String, (usize, usize)>,
    fields: BTreeMap<(String, String), (usize, usize)>,
}

fn facts() -> Facts {
    let path = std::env::var("MHC_ABI_FACTS").unwrap_or_else(|_| {
        panic!(
            "MHC_ABI_FACTS is not set: it names the output of the mhc_abi_facts program that the CMake \
             build makes (build/bindings/abi_facts.txt); `ctest -L rust` sets it"
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read MHC_ABI_FACTS={}: {}", path, e));
    let mut f = Facts { consts: BTreeMap::new(), typedefs: BTreeMap::new(), structs: BTreeMap::new(), fields: BTreeMap::new() };
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> i64 { w[i].parse().unwrap_or_else(|_| panic!("bad number in fact line {:?}", line)) };
        match w.as_slice() {
            ["const", name, _] => {
                f.consts.insert(name.to_string(), num(2));
            }
            ["typedef", name, _, _, sign] => {
                f.typedefs.insert(name.to_string(), (num(2) as usize, num(3) as usize, *sign == "signed"));
            }
            ["struct", name, _, _] => {
                f.structs.insert(name.to_string(), (num(2) as usize, num(3) as usize));
            }
            ["field", s, name, _, _] => {
                f.fields.insert((s.to_string(), name.to_string()), (num(3) as usize, num(4) as usize));
            }
            _ => panic!("unexpected line in {}: {:?}", path, line),
        }
    }
    assert!(f.consts.len() >= 50 && f.structs.len() >= 4, "{} looks truncated", path);
    f
}

/// (offset, size) of a field, through raw pointers (no `offset_of!` in Rust 1.63).
macro_rules! field_layout {
    ($ty:ty, $field:ident) => {{
        let u = MaybeUninit::<$ty>::uninit();
        let base = u.as_ptr();
        // SAFETY: addr_of! on a field of an uninitialized value computes an address only.
        let field = unsafe { std::ptr::addr_of!((*base).$field) };
        fn size_of_pointee<T>(_: *const T) -> usize {
            size_of::<T>()
        }
        (field as usize - base as usize, size_of_pointee(field))
    }};
}

/// The struct's C name, its Rust size and alignment, and each field as (C name, offset, size).
macro_rules! layout {
    ($ty:ident { $($field:ident $(= $cname:literal)?),* $(,)? }) => {
        (stringify!($ty), size_of::<$ty>(), align_of::<$ty>(), vec![$({
            #[allow(unused_mut, unused_assignments)]
            let mut name = stringify!($field);
            $(name = $cname;)?
            let (offset, size) = field_layout!($ty, $field);
            (name, offset, size)
        }),*])
    };
}

macro_rules! typedef {
    ($ty:ident) => {
        (stringify!($ty), size_of::<$ty>(), align_of::<$ty>(), $ty::MIN != 0)
    };
}

#[test]
fn constants_match_the_header() {
    let f = facts();
    let mut errors = Vec::new();
    let mine: BTreeMap<&str, i64> = CONSTANTS.iter().cloned().collect();
    assert_eq!(mine.len(), CONSTANTS.len(), "a constant is declared twice");
    for (name, value) in &f.consts {
        match mine.get(name.as_str()) {
            None => errors.push(format!("{} = {} is in mhc.h but not in mhc::sys", name, value)),
            Some(v) if v != value => errors.push(format!("{}: mhc.h says {}, mhc::sys says {}", name, value, v)),
            Some(_) => {}
        }
    }
    for name in mine.keys() {
        if !f.consts.contains_key(*name) {
            errors.push(format!("{} is in mhc::sys but not in mhc.h", name));
        }
    }
    assert!(errors.is_empty(), "constants differ from the header:\n  {}", errors.join("\n  "));
    println!("{} constants match mhc.h", f.consts.len());
}

#[test]
fn typedefs_match_the_header() {
    let f = facts();
    let mine = [
        typedef!(mhc_status_t),
        typedef!(mhc_op_t),
        typedef!(mhc_dtype_t),
        typedef!(mhc_backend_mask_t),
        typedef!(mhc_guarantee_flags_t),
        typedef!(mhc_sku_t),
        typedef!(mhc_tensor_role_t),
    ];
    let mut errors = Vec::new();
    for (name, size, align, signed) in mine.iter() {
        match f.typedefs.get(*name) {
            None => errors.push(format!("typedef {} is in mhc::sys but not in mhc.h", name)),
            Some(c) if *c != (*size, *align, *signed) => {
                errors.push(format!("{}: mhc.h (size, align, signed) {:?}, mhc::sys {:?}", name, c, (size, align, signed)))
            }
            Some(_) => {}
        }
    }
    for name in f.typedefs.keys() {
        if !mine.iter().any(|m| m.0 == name) {
            errors.push(format!("typedef {} is in mhc.h but not in mhc::sys", name));
        }
    }
    assert!(errors.is_empty(), "typedefs differ from the header:\n  {}", errors.join("\n  "));
}

#[test]
fn structs_match_the_header() {
    let f = facts();
    let mine = vec![
        layout!(mhc_desc_t {
            struct_size, op, tokens, hidden, n, num_splits, act_dtype, weight_precision,
            sinkhorn_repeat, flags, rms_eps, pre_eps, sinkhorn_eps, post_mult, static_eps, reserved0,
            norm_eps, norm_scale,
        }),
        layout!(mhc_preference_t { struct_size, backends, max_workspace_bytes, required, forced_sku }),
        layout!(mhc_precision_guarantee_t { struct_size, math_precision, accumulator, flags }),
        layout!(mhc_args_t {
            struct_size, reserved0, residual, fn_ = "fn", scale, base, gemm_out, sqrsum, layer_output,
            post_mix, comb_mix, embedding, norm_weight, h_pre, h_post, h_res, out_gemm, out_sqrsum,
            out_post_mix, out_comb_mix, out_layer_input, out_residual, out_rms, tokens, pre_mix,
            out_pre_mix, grad_residual, grad_layer_input, grad_post_mix, grad_comb_mix,
            out_grad_residual, out_grad_layer_output, out_grad_post_mix, out_grad_comb_mix,
            out_grad_embedding, out_grad_fn, out_grad_scale, out_grad_base, grad_accumulate, reserved1,
            out_grad_h_pre, out_grad_h_post, out_grad_h_res, out_grad_norm_weight,
        }),
        layout!(mhc_tensor_info_t {
            struct_size, field_offset, field, role, dtype, required, rank, shape, token_dim, reserved0,
        }),
    ];
    let mut errors = Vec::new();
    let mut checked = 0;
    for (name, size, align, fields) in &mine {
        match f.structs.get(*name) {
            None => errors.push(format!("struct {} is in mhc::sys but not in mhc.h", name)),
            Some(&(c_size, c_align)) => {
                if (c_size, c_align) != (*size, *align) {
                    errors.push(format!("{}: mhc.h size {} align {}, mhc::sys size {} align {}", name, c_size, c_align, size, align));
                }
            }
        }
        for (field, offset, fsize) in fields {
            checked += 1;
            match f.fields.get(&(name.to_string(), field.to_string())) {
                None => errors.push(format!("{}.{} is in mhc::sys but not in mhc.h", name, field)),
                Some(c) if *c != (*offset, *fsize) => errors.push(format!(
                    "{}.{}: mhc.h offset {} size {}, mhc::sys offset {} size {}",
                    name, field, c.0, c.1, offset, fsize
                )),
                Some(_) => {}
            }
        }
    }
    for name in f.structs.keys() {
        if !mine.iter().any(|m| m.0 == name) {
            errors.push(format!("struct {} is in mhc.h but not in mhc::sys", name));
        }
    }
    for (s, field) in f.fields.keys() {
        if !mine.iter().any(|m| m.0 == s && m.3.iter().any(|x| x.0 == field)) {
            errors.push(format!("{}.{} is in mhc.h but not in mhc::sys", s, field));
        }
    }
    assert!(errors.is_empty(), "structs differ from the header:\n  {}", errors.join("\n  "));
    println!("{} structs, {} fields match mhc.h", mine.len(), checked);
}

#[test]
fn the_loaded_library_is_the_one_declared() {
    // The linked libmhc reports the version and ABI the header (and so mhc::sys) names.
    assert_eq!(mhc::abi_version(), MHC_ABI_VERSION);
    assert_eq!(mhc::version(), MHC_VERSION);
    mhc::check_abi().expect("mhc_check_abi(MHC_ABI_VERSION)");
    // And a mismatching ABI version is refused with its status.
    let s = unsafe { mhc_check_abi(MHC_ABI_VERSION + 1) };
    assert_eq!(s, MHC_STATUS_BAD_PARAM_ABI_MISMATCH);
}
