//! The corpus reader and the upstream adapter: every corpus function reads
//! the same through both allocators' `Function` traits, bit for bit.

use regalloc2::Function as _;
use regarena::Function as _;
use regarena_tools::corpus;
use regarena_tools::upstream as up;

#[test]
fn corpus_functions_convert_bit_for_bit() {
    let corpus = regarena_tools::test_corpus::load("corpus_functions_convert_bit_for_bit");
    let funcs = &corpus.funcs;
    assert!(
        funcs.len() >= corpus.expected_at_least(),
        "only {} functions",
        funcs.len()
    );
    for cf in funcs {
        let (u, o) = (&cf.upstream, &cf.func);
        assert_eq!(u.num_insts(), o.num_insts());
        assert_eq!(u.num_blocks(), o.num_blocks());
        assert_eq!(u.num_vregs(), o.num_vregs());
        for i in 0..u.num_insts() {
            let (ui, oi) = (regalloc2::Inst::new(i), regarena::Inst::new(i));
            let ub: Vec<u64> = u.inst_operands(ui).iter().map(|x| x.bits()).collect();
            let ob: Vec<u64> = o.inst_operands(oi).iter().map(|x| x.bits()).collect();
            assert_eq!(ub, ob, "{}: inst {i}", cf.path.display());
            assert_eq!(up::pregset(u.inst_clobbers(ui)), o.inst_clobbers(oi));
            assert_eq!(u.is_branch(ui), o.is_branch(oi));
            assert_eq!(u.is_ret(ui), o.is_ret(oi));
        }
        for b in 0..u.num_blocks() {
            let (ub, ob) = (regalloc2::Block::new(b), regarena::Block::new(b));
            let ur = u.block_insns(ub);
            let or = o.block_insns(ob);
            assert_eq!(
                (ur.first().index(), ur.len()),
                (or.first().index(), or.len())
            );
            assert_eq!(u.block_succs(ub).len(), o.block_succs(ob).len());
            assert_eq!(u.block_params(ub).len(), o.block_params(ob).len());
        }
        // And back: our env converts to upstream's unchanged.
        let back = up::env_up(&cf.env);
        assert_eq!(
            back.preferred_regs_by_class,
            cf.upstream.machine_env().preferred_regs_by_class
        );
    }
    eprintln!("{} corpus functions convert bit for bit", funcs.len());
}

#[test]
fn corrupt_file_is_reported_by_name() {
    let err = corpus::decode(
        std::path::Path::new("junk.bin"),
        "g",
        b"\xff\xff\xff\xff garbage",
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("junk.bin: "), "{err}");
}
