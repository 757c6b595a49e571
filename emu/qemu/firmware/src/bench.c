/* A CoreMark-like workload for QEMU's speed on the H7 machines: linked-list search and reversal,
 * a 16-bit matrix multiply, a character-class state machine and CRC-16, repeated BENCH_ITERATIONS
 * times between two serial markers, so the host times the loop by the markers. The loop's length
 * in core cycles (SysTick count: 1 ms ticks plus the current value) is printed as well: run under
 * -icount shift=0, where one instruction is one nanosecond of virtual time, it gives the
 * instruction count. Not CoreMark: no validation of results across compilers, no score. */
#include "fw.h"

#define BENCH_ITERATIONS 20000u
#define LIST_NODES       64
#define MATRIX_N         12
#define SYST_RVR         0xE000E014u
#define SYST_CVR         0xE000E018u

typedef struct node {
	struct node *next;
	int16_t value;
	int16_t index;
} node;

static node nodes[LIST_NODES];
static int16_t ma[MATRIX_N][MATRIX_N], mb[MATRIX_N][MATRIX_N];
static int32_t mc[MATRIX_N][MATRIX_N];
static const char text[] = "5012,1.5e3,-77,0x1F,hello,3.1415,+42,,7e-2,flash twin";

static uint16_t crc16(uint16_t crc, uint32_t data)
{
	for (int i = 0; i < 32; i++) {
		unsigned bit = (crc ^ data) & 1u;
		crc >>= 1;
		data >>= 1;
		if (bit)
			crc ^= 0xA001u;
	}
	return crc;
}

static node *list_reverse(node *head)
{
	node *prev = 0;
	while (head) {
		node *next = head->next;
		head->next = prev;
		prev = head;
		head = next;
	}
	return prev;
}

static int list_find(const node *head, int16_t value)
{
	for (int i = 0; head; head = head->next, i++)
		if (head->value == value)
			return i;
	return -1;
}

static int32_t matrix(int16_t seed)
{
	int32_t sum = 0;
	for (int i = 0; i < MATRIX_N; i++)
		for (int j = 0; j < MATRIX_N; j++)
			ma[i][j] = (int16_t)(seed + i * j), mb[i][j] = (int16_t)(seed - i + j);
	for (int i = 0; i < MATRIX_N; i++)
		for (int j = 0; j < MATRIX_N; j++) {
			int32_t acc = 0;
			for (int k = 0; k < MATRIX_N; k++)
				acc += ma[i][k] * mb[k][j];
			mc[i][j] = acc;
			sum += acc;
		}
	return sum;
}

/* Counts numbers, floats and words in text, CoreMark's core_state flavour. */
static uint32_t states(void)
{
	enum { START, INT, FLOAT, EXP, WORD } st = START;
	uint32_t counts = 0;
	for (const char *c = text; *c; c++) {
		char ch = *c;
		if (ch == ',') {
			counts += st == INT ? 1u : st == FLOAT || st == EXP ? 0x100u : 0x10000u;
			st = START;
		} else if (ch >= '0' && ch <= '9') {
			st = st == START ? INT : st;
		} else if (ch == '.') {
			st = st == INT ? FLOAT : WORD;
		} else if (ch == 'e' && (st == INT || st == FLOAT)) {
			st = EXP;
		} else if (!((ch == '+' || ch == '-') && (st == START || st == EXP))) {
			st = WORD;
		}
	}
	return counts;
}

static uint32_t cycles(void)
{
	uint32_t load = REG(SYST_RVR) + 1u, t, v;
	do {
		t = fw_ticks();
		v = REG(SYST_CVR);
	} while (t != fw_ticks());
	return t * load + (load - 1u - v);
}

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("main reached\n");
	for (int i = 0; i < LIST_NODES; i++) {
		nodes[i].value = (int16_t)(i * 7 % LIST_NODES);
		nodes[i].index = (int16_t)i;
		nodes[i].next = i + 1 < LIST_NODES ? &nodes[i + 1] : 0;
	}
	node *head = nodes;
	uint16_t crc = 0;
	uart_puts("loop start\n");
	uint32_t c0 = cycles();
	for (uint32_t it = 0; it < BENCH_ITERATIONS; it++) {
		head = list_reverse(head);
		crc = crc16(crc, (uint32_t)list_find(head, (int16_t)(it % LIST_NODES)));
		crc = crc16(crc, (uint32_t)matrix((int16_t)it));
		crc = crc16(crc, states());
	}
	uint32_t c1 = cycles();
	uart_puts("loop end\n");
	uart_kv("crc", crc);
	uart_kv("cycles", c1 - c0);
	uart_kv("iterations", BENCH_ITERATIONS);
	return 0;
}
