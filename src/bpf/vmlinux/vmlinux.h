/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel types oom_watch.bpf.c reads, and only those, in place of a
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c` of the build host.
 *
 * Why a short hand-kept header instead of a generated one per architecture
 * (libbpf-tools commits ~3 MB per architecture): every struct below is marked
 * preserve_access_index, so each field access is a CO-RE relocation that
 * libbpf resolves by name against the *running* kernel's BTF when the program
 * loads; field order, offsets and sizes here do not matter, and neither does
 * the build host's kernel. The program is tp_btf only (arguments arrive as an
 * array of u64), so nothing depends on an architecture's pt_regs. What must be
 * right here: the field names and their kinds (pointer, array, integer), and the
 * values of enum constants used as array indices (MM_*: compiled in, not
 * relocated; unchanged since Linux 2.6.34). memory_cgrp_id is relocated
 * (bpf_core_enum_value). A field renamed by a future kernel fails the load with
 * a CO-RE relocation error, which ramflowd reports as "eBPF unavailable"; the
 * live tests (tests/unit/bpf) load and fire the program on the CI kernel.
 */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef short unsigned int __u16;
typedef unsigned int __u32;
typedef long long unsigned int __u64;
typedef signed char __s8;
typedef short int __s16;
typedef int __s32;
typedef long long int __s64;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
typedef __u32 __be32;
typedef __u16 __be16;
typedef __u32 __wsum;
typedef _Bool bool;
typedef __u32 uid_t;
typedef int pid_t;

enum bpf_map_type {
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	MM_FILEPAGES = 0,
	MM_ANONPAGES = 1,
	MM_SWAPENTS = 2,
	MM_SHMEMPAGES = 3,
	NR_MM_COUNTERS = 4,
};

enum cgroup_subsys_id {
	memory_cgrp_id = 4,
	CGROUP_SUBSYS_COUNT = 14,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct ns_common {
	unsigned int inum;
};

struct pid_namespace {
	struct ns_common ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[];
};

/* Linux >= 6.2: one percpu_counter per counter; .count is the batched sum. */
struct percpu_counter {
	s64 count;
};

struct mm_struct {
	unsigned long total_vm;
	struct percpu_counter rss_stat[NR_MM_COUNTERS];
};

struct kernfs_node {
	u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

struct css_set {
	struct cgroup_subsys_state *subsys[CGROUP_SUBSYS_COUNT];
	struct cgroup *dfl_cgrp;
};

struct task_struct {
	struct mm_struct *mm;
	pid_t tgid;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	u64 start_boottime;
	struct css_set *cgroups;
	char comm[16];
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
