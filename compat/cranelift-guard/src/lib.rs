//! Builds one small function with Cranelift, so that `cargo check` here
//! type-checks a real use of the codegen crate (and with it every
//! `regalloc2` item Cranelift names) against the facade.

use cranelift_codegen::ir::{types, AbiParam, Function, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// `fn(a, b) -> a + b` on i64, as Cranelift IR.
pub fn add_function() -> Function {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (x, y) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let sum = b.ins().iadd(x, y);
    b.ins().return_(&[sum]);
    b.finalize();
    func
}
