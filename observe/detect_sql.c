/* SQL injection by tokenising: the text is split into SQL tokens (strings, numbers, keywords,
 * operators, functions, comments, ...) in each context an application may paste it into (as a
 * bare value, or inside a quoted string that the attacker's quote closes), and the token types
 * that follow the break are matched against the grammar of injections: a boolean condition
 * (tautology, blind), UNION SELECT, a stacked statement, a comment that cuts the rest of the
 * query, ORDER BY probing, dangerous functions (time delays, file and error channels). Words
 * alone never decide: "select the best option, drop me a line" has no break and no SQL grammar.
 * See observe/detect_int.h. */
#include "observe/detect_int.h"

#include <string.h>

#define SQL_MAX_TOKENS 512 /* raw context: tokens of the whole leaf */
#define SQL_CTX_TOKENS 32  /* quote contexts: tokens after the break */
#define SQL_MAX_QUOTES 16  /* quote contexts tried per leaf */
#define WORD_CAP 32

/* Token types:
 *  s string   n number/constant   b identifier   v @variable   f function name (before '(')
 *  k keyword  U union   E statement verb   B order by/group by   & and/or/xor/&&/||
 *  o operator   c comment   ; ( ) , .   x anything else */
struct tok {
    char type;
    size_t start, end;
    char word[WORD_CAP]; /* lower-case text of words and operators (cut) */
};

struct kw {
    const char *w;
    char type;
};

/* Sorted by word: kw_first[] below indexes them by first letter (keep both in step). */
static const struct kw keywords[] = {
    {"all", 'k'},     {"alter", 'E'},    {"analyse", 'k'},  {"and", '&'},       {"as", 'k'},
    {"between", 'o'}, {"by", 'k'},       {"case", 'k'},     {"create", 'E'},    {"database", 'k'},
    {"declare", 'E'}, {"delay", 'k'},    {"delete", 'E'},   {"distinct", 'k'},  {"div", 'o'},
    {"drop", 'E'},    {"dumpfile", 'k'}, {"else", 'k'},     {"end", 'k'},       {"exec", 'E'},
    {"execute", 'E'}, {"false", 'n'},    {"from", 'k'},     {"function", 'k'},  {"grant", 'E'},
    {"group", 'k'},   {"having", 'k'},   {"in", 'o'},       {"index", 'k'},     {"insert", 'E'},
    {"into", 'k'},    {"is", 'o'},       {"join", 'k'},     {"like", 'o'},      {"limit", 'k'},
    {"login", 'k'},   {"mod", 'o'},      {"not", 'o'},      {"null", 'n'},      {"offset", 'k'},
    {"or", '&'},      {"order", 'k'},    {"outfile", 'k'},  {"procedure", 'k'}, {"regexp", 'o'},
    {"rlike", 'o'},   {"schema", 'k'},   {"select", 'E'},   {"set", 'k'},       {"shutdown", 'E'},
    {"sounds", 'o'},  {"table", 'k'},    {"then", 'k'},     {"time", 'k'},      {"top", 'k'},
    {"trigger", 'k'}, {"true", 'n'},     {"truncate", 'E'}, {"union", 'U'},     {"update", 'E'},
    {"values", 'k'},  {"view", 'k'},     {"waitfor", 'E'},  {"when", 'k'},      {"where", 'k'},
    {"xor", '&'},
};

/* Functions whose presence after a break is an attack on its own: time delays, file access,
 * error-based extraction, out-of-band channels. */
static const char *const dangerous_fn[] = {
    "sleep",       "pg_sleep",     "benchmark",        "extractvalue",
    "updatexml",   "load_file",    "receive_message",  "xp_cmdshell",
    "randomblob",  "pg_read_file", "get_host_address", "name_const",
    "gtid_subset", "lo_import",    "xp_dirtree",
};
/* All of them are strong alone (a time delay or a file read needs no comparison). */
#define DANGEROUS_STRONG (int)(sizeof dangerous_fn / sizeof dangerous_fn[0])

static char lc(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* word_char(): letters, digits, '_', '$' and every non-ASCII byte (identifiers in any script) */
static const bool word_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static bool word_char(unsigned char c)
{
    return word_tab[c];
}

static bool space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

struct lexer {
    const char *s;
    size_t len, pos;
    bool exec_comment; /* saw MySQL's executable comment slash-star-bang */
};

/* Skips whitespace, inline comments and the end of executable comments. */
static void skip_ws(struct lexer *lx)
{
    for (;;) {
        while (lx->pos < lx->len && space((unsigned char)lx->s[lx->pos]))
            lx->pos++;
        if (lx->pos + 1 < lx->len && lx->s[lx->pos] == '*' && lx->s[lx->pos + 1] == '/') {
            lx->pos += 2;
            continue;
        }
        if (lx->pos + 1 < lx->len && lx->s[lx->pos] == '/' && lx->s[lx->pos + 1] == '*') {
            size_t k = lx->pos + 2;
            if (k < lx->len && lx->s[k] == '!') {
                /* executable comment: its content is code */
                k++;
                while (k < lx->len && lx->s[k] >= '0' && lx->s[k] <= '9')
                    k++;
                lx->exec_comment = true;
                lx->pos = k;
                continue;
            }
            while (k + 1 < lx->len && !(lx->s[k] == '*' && lx->s[k + 1] == '/'))
                k++;
            if (k + 1 >= lx->len)
                return; /* unterminated: a trailing comment token */
            lx->pos = k + 2;
            continue;
        }
        return;
    }
}

static void set_word(struct tok *t, const char *s, size_t n)
{
    size_t k = n < WORD_CAP - 1 ? n : WORD_CAP - 1;

    for (size_t i = 0; i < k; i++)
        t->word[i] = lc(s[i]);
    t->word[k] = '\0';
}

/* keywords[kw_first[c - 'a']] .. keywords[kw_first[c - 'a' + 1] - 1] start with letter c */
static const unsigned char kw_first[27] = {0,  5,  7,  9,  17, 21, 24, 26, 27, 32, 33, 33, 36, 37,
                                           39, 43, 44, 44, 46, 51, 58, 60, 62, 65, 66, 66, 66};

static char keyword_type(const char *w)
{
    if (w[0] < 'a' || w[0] > 'z' || w[1] == '\0')
        return 0;
    /* the second letter rules out most of the bucket without a call */
    for (unsigned i = kw_first[w[0] - 'a']; i < kw_first[w[0] - 'a' + 1]; i++)
        if (keywords[i].w[1] == w[1] && strcmp(keywords[i].w + 2, w + 2) == 0)
            return keywords[i].type;
    return 0;
}

/* Reads the next token; false at the end. */
static bool next_tok(struct lexer *lx, struct tok *t)
{
    const char *s = lx->s;
    size_t i, n = lx->len;
    unsigned char c;

    skip_ws(lx);
    if (lx->pos >= n)
        return false;
    i = lx->pos;
    c = (unsigned char)s[i];
    t->start = i;
    t->word[0] = '\0';
    if ((c == '-' && i + 1 < n && s[i + 1] == '-') || c == '#' ||
        (c == '/' && i + 1 < n && s[i + 1] == '*')) {
        size_t k = i + 1;
        while (k < n && s[k] != '\n')
            k++;
        t->type = 'c';
        set_word(t, s + i, k - i);
        lx->pos = k;
    } else if (c == '\'' || c == '"') {
        size_t k = i + 1;
        while (k < n) {
            if (s[k] == '\\' && k + 1 < n) {
                k += 2;
                continue;
            }
            if (s[k] == (char)c) {
                if (k + 1 < n && s[k + 1] == (char)c) {
                    k += 2;
                    continue;
                }
                k++;
                break;
            }
            k++;
        }
        t->type = 's';
        lx->pos = k;
    } else if (c == '`') {
        size_t k = i + 1;
        while (k < n && s[k] != '`')
            k++;
        t->type = 'b';
        lx->pos = k < n ? k + 1 : k;
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
        size_t k = i + 1;
        if (c == '0' && k < n && (lc(s[k]) == 'x' || lc(s[k]) == 'b'))
            k++;
        while (k < n && (word_char((unsigned char)s[k]) || s[k] == '.') &&
               (unsigned char)s[k] < 0x80)
            k++;
        t->type = 'n';
        lx->pos = k;
    } else if (c == '@') {
        size_t k = i + 1;
        if (k < n && s[k] == '@')
            k++;
        while (k < n && word_char((unsigned char)s[k]))
            k++;
        t->type = 'v';
        set_word(t, s + i, k - i);
        lx->pos = k;
    } else if (word_char(c)) {
        size_t k = i + 1;
        while (k < n && word_char((unsigned char)s[k]))
            k++;
        set_word(t, s + i, k - i);
        lx->pos = k;
        /* no keyword is longer than 9 letters */
        const char kt = k - i <= 9 ? keyword_type(t->word) : 0;
        t->type = kt != 0 ? kt : 'b';
        if (t->type != '&' && t->type != 'o') {
            /* a word right before '(' (inline comments allowed, not spaces) is a call */
            size_t q = lx->pos;
            while (q + 2 < n && s[q] == '/' && s[q + 1] == '*' && s[q + 2] != '!') {
                q += 2;
                while (q + 1 < n && !(s[q] == '*' && s[q + 1] == '/'))
                    q++;
                q += 2;
            }
            if (q < n && s[q] == '(')
                t->type = t->type == 'E' || t->type == 'U' ? t->type : 'f';
        }
        if (kt == 'k' && (strcmp(t->word, "order") == 0 || strcmp(t->word, "group") == 0)) {
            struct lexer peek = *lx;
            struct tok nt;
            if (next_tok(&peek, &nt) && strcmp(nt.word, "by") == 0) {
                t->type = 'B';
                lx->pos = peek.pos;
            }
        }
    } else {
        size_t k = i + 1;
        char c2 = k < n ? s[k] : '\0';
        t->type = 'o';
        if ((c == '|' && c2 == '|') || (c == '&' && c2 == '&')) {
            t->type = '&';
            k++;
        } else if ((c == '<' || c == '>' || c == '!' || c == ':') && (c2 == '=' || c2 == '>')) {
            k++;
            if (c == '<' && k < n && s[k] == '>')
                k++;
        } else if (c == ';' || c == '(' || c == ')' || c == ',' || c == '.') {
            t->type = (char)c;
        } else if (!strchr("=<>+-*/%^|&~!", c)) {
            t->type = 'x';
        }
        set_word(t, s + i, k - i);
        lx->pos = k;
    }
    t->end = lx->pos;
    return true;
}

/* A comparison operator; "in" only before a parenthesis, as prose has "in" everywhere. */
static bool is_comparison(const struct tok *t, const struct tok *next)
{
    if (t->type != 'o')
        return false;
    if (strcmp(t->word, "in") == 0)
        return next != NULL && next->type == '(';
    return strchr("=<>!", t->word[0]) != NULL || strcmp(t->word, "like") == 0 ||
           strcmp(t->word, "rlike") == 0 || strcmp(t->word, "regexp") == 0 ||
           strcmp(t->word, "is") == 0 || strcmp(t->word, "between") == 0 ||
           strcmp(t->word, "sounds") == 0;
}

/* A comment that cuts the rest of a query: short, or no words in it ("-- -", "#", an open
 * block comment). A dash-dash followed by a sentence is prose. */
static bool cut_comment(const struct tok *t)
{
    size_t len = strlen(t->word);
    bool letters = false;

    for (size_t k = 2; k < len; k++)
        if (t->word[k] >= 'a' && t->word[k] <= 'z')
            letters = true;
    return !letters || len <= 4;
}

/* From T[k], an operand with up to two arithmetic steps, then a comparison: 1=1, 1+1=2,
 * 'a'='a', x like '%'. Returns the index of the comparison, or 0. */
static size_t comparison_after(const struct tok *T, size_t n, size_t k)
{
    for (size_t j = k + 1; j < n && j <= k + 5; j++) {
        const struct tok *next = j + 1 < n ? &T[j + 1] : NULL;
        if (is_comparison(&T[j], next))
            return j;
        if (!(strchr("nsb", T[j].type) || (T[j].type == 'o' && strchr("+-*/%|^", T[j].word[0]))))
            return 0;
    }
    return 0;
}

static bool is_word(const struct tok *t, const char *w)
{
    return strcmp(t->word, w) == 0;
}

static int dangerous_rank(const struct tok *t)
{
    if (t->type != 'f' && t->type != 'b')
        return -1;
    for (size_t i = 0; i < sizeof dangerous_fn / sizeof dangerous_fn[0]; i++)
        if (strcmp(t->word, dangerous_fn[i]) == 0)
            return (int)i;
    return -1;
}

/* Is T[i] a statement verb followed by what that statement needs? */
static bool valid_stmt(const struct tok *T, size_t n, size_t i)
{
    const struct tok *a = i + 1 < n ? &T[i + 1] : NULL;
    const struct tok *b = i + 2 < n ? &T[i + 2] : NULL;

    if (T[i].type != 'E')
        return false;
    if (is_word(&T[i], "select")) {
        if (a == NULL)
            return false;
        if (strchr("nsvf(", a->type) || is_word(a, "*") || is_word(a, "all") ||
            is_word(a, "distinct") || is_word(a, "top") || is_word(a, "case"))
            return true;
        return a->type == 'b' && b != NULL &&
               (strchr(",.c)", b->type) || is_word(b, "from") || is_word(b, "into"));
    }
    if (a == NULL)
        return is_word(&T[i], "shutdown");
    if (is_word(&T[i], "drop") || is_word(&T[i], "create") || is_word(&T[i], "alter") ||
        is_word(&T[i], "truncate"))
        return (a->type == 'k' || a->type == 'b') &&
               (is_word(a, "table") || is_word(a, "database") || is_word(a, "schema") ||
                is_word(a, "view") || is_word(a, "user") || is_word(a, "function") ||
                is_word(a, "procedure") || is_word(a, "index") || is_word(a, "login") ||
                is_word(a, "trigger"));
    if (is_word(&T[i], "delete"))
        return is_word(a, "from") || (b != NULL && a->type == 'b' && is_word(b, "from"));
    if (is_word(&T[i], "insert"))
        return is_word(a, "into");
    if (is_word(&T[i], "update"))
        return a->type == 'b' && b != NULL && is_word(b, "set");
    if (is_word(&T[i], "exec") || is_word(&T[i], "execute"))
        return strchr("bfv(", a->type) != NULL;
    if (is_word(&T[i], "declare"))
        return a->type == 'v';
    if (is_word(&T[i], "waitfor"))
        return is_word(a, "delay") || is_word(a, "time");
    if (is_word(&T[i], "shutdown"))
        return strchr("c;", a->type) != NULL;
    if (is_word(&T[i], "grant"))
        return a->type == 'b' || a->type == 'k';
    return false;
}

/* UNION [ALL|DISTINCT] [(] SELECT ... at T[i]. */
static bool union_select(const struct tok *T, size_t n, size_t i)
{
    size_t k = i + 1;

    if (T[i].type != 'U')
        return false;
    if (k < n && (is_word(&T[k], "all") || is_word(&T[k], "distinct")))
        k++;
    while (k < n && T[k].type == '(')
        k++;
    return k < n && is_word(&T[k], "select") && valid_stmt(T, n, k);
}

struct verdict {
    const char *technique;
    double confidence;
    size_t last; /* index of the last token that belongs to the attack */
};

static bool set_v(struct verdict *v, const char *technique, double conf, size_t last)
{
    v->technique = technique;
    v->confidence = conf;
    v->last = last;
    return true;
}

/* After a break (a closing quote, or a leading number) at T[i]: what follows? */
static bool after_break(const struct tok *T, size_t n, size_t i, bool quoted, struct verdict *v)
{
    size_t last = n - 1;

    while (i < n && T[i].type == ')')
        i++;
    if (i >= n)
        return false;
    const struct tok *t = &T[i];
    const struct tok *a = i + 1 < n ? &T[i + 1] : NULL;
    const struct tok *b = i + 2 < n ? &T[i + 2] : NULL;

    if (t->type == 'c' && i + 1 == n && quoted) {
        /* the rest of the query is cut: admin'-- , admin'# , or an open comment */
        if (cut_comment(t))
            return set_v(v, "comment-truncation", 0.8, i);
        return false;
    }
    if (t->type == 'U' && union_select(T, n, i))
        return set_v(v, "union-select", 0.95, last);
    if (t->type == ';') {
        if (a != NULL && a->type == 'E' && valid_stmt(T, n, i + 1))
            return set_v(v, "stacked-query", 0.95, last);
        if (a != NULL && a->type == 'c' && i + 2 == n && cut_comment(a))
            return set_v(v, "comment-truncation", quoted ? 0.75 : 0.7, i + 1);
        return false;
    }
    if (t->type == 'E' && is_word(t, "waitfor") && valid_stmt(T, n, i))
        return set_v(v, "time-based", 0.9, last);
    if (t->type == 'B' && a != NULL && a->type == 'n' &&
        (b == NULL || strchr("c,;)", b->type) || is_word(b, "having")))
        return set_v(v, "order-by-probe", 0.85, i + 1);
    if (t->type == 'B' && a != NULL && a->type == 'b' && b != NULL &&
        (b->type == 'c' || is_word(b, "having")))
        return set_v(v, "order-by-probe", 0.8, i + 2);
    if (t->type == 'k' && is_word(t, "having") && a != NULL && b != NULL &&
        is_comparison(b, i + 3 < n ? &T[i + 3] : NULL))
        return set_v(v, "boolean-condition", 0.85, i + 2);
    if (t->type == 'k' && is_word(t, "into") && a != NULL &&
        (is_word(a, "outfile") || is_word(a, "dumpfile")))
        return set_v(v, "file-write", 0.95, last);
    if (t->type == 'k' && is_word(t, "procedure") && a != NULL && is_word(a, "analyse"))
        return set_v(v, "procedure-analyse", 0.85, i + 1);
    if (t->type == '&' && a != NULL) {
        const char *tech = is_word(t, "and") || is_word(t, "&&") ? "boolean-blind" : "tautology";
        int d = dangerous_rank(a);
        if (a->type == 'f' && d >= 0 && d < DANGEROUS_STRONG)
            return set_v(v,
                         is_word(a, "sleep") || is_word(a, "pg_sleep") || is_word(a, "benchmark")
                             ? "time-based"
                             : "error-based",
                         0.95, last);
        if (a->type == '(' && b != NULL && is_word(b, "select"))
            return set_v(v, "subquery", 0.9, last);
        if (a->type == 'E' && valid_stmt(T, n, i + 1))
            return set_v(v, "subquery", 0.85, last);
        if (a->type == 'v')
            return set_v(v, tech, 0.85, i + 1);
        /* a nested SELECT or delay inside the condition: ascii(substring((select ...),1,1))>64,
         * elt(1,sleep(5)) */
        if (strchr("f(", a->type)) {
            for (size_t k = i + 1; k + 1 < n && k < i + 24; k++) {
                if (T[k].type == '(' && is_word(&T[k + 1], "select"))
                    return set_v(v, "subquery", 0.9, last);
                if (T[k].type == 'f' && dangerous_rank(&T[k]) >= 0 && T[k + 1].type == '(')
                    return set_v(v, "time-based", 0.9, last);
            }
        }
        /* ' or 1 group by ..., 1 or 1 union ... */
        if (a->type == 'n' && b != NULL &&
            (b->type == 'B' || b->type == 'U' || is_word(b, "having") || is_word(b, "limit")))
            return set_v(v, tech, 0.85, i + 2);
        /* an operand, then a comparison: 1=1, 'a'='a', x like '%', 1+1=2 */
        if (strchr("nsb", a->type)) {
            size_t k = comparison_after(T, n, i + 1);
            if (k > 0) {
                if (a->type == 'b' && !quoted)
                    return false;
                return set_v(v, tech, a->type == 'b' ? 0.8 : 0.9, k + 1 < n ? k + 1 : k);
            }
        }
        /* a call or a parenthesis, closed, then a comparison: ascii(mid(x,1,1))>64, (1=1) */
        if (strchr("f(", a->type)) {
            int depth = 0;
            for (size_t k = i + 1; k < n && k < i + 24; k++) {
                const struct tok *next = k + 1 < n ? &T[k + 1] : NULL;
                if (T[k].type == '(')
                    depth++;
                else if (T[k].type == ')')
                    depth--;
                else if (is_comparison(&T[k], next) && (depth == 0 || a->type == '('))
                    return set_v(v, tech, 0.9, k + 1 < n ? k + 1 : k);
                else if (depth <= 0 && k > i + 1 && T[k].type != 'f')
                    break;
            }
        }
        /* ' or 1-- , ' or true# , 1 or 1; */
        if (a->type == 'n' && b != NULL && strchr("c;", b->type))
            return set_v(v, tech, 0.85, i + 2);
        if (a->type == 'n' && b == NULL && (quoted || is_word(a, "true")))
            return set_v(v, tech, quoted ? 0.7 : 0.75, i + 1);
        return false;
    }
    if (t->type == 'o' && !quoted && a != NULL && a->type == '(' && b != NULL &&
        is_word(b, "select"))
        return set_v(v, "subquery", 0.85, last);
    if (t->type == 'o' && quoted && a != NULL) {
        /* '=' , '-0-- , '||(select ...)||' , '+sleep(5)+' */
        int d = dangerous_rank(a);
        if (a->type == '(' && b != NULL && is_word(b, "select"))
            return set_v(v, "subquery", 0.9, last);
        if (a->type == 'f' && d >= 0 && d < DANGEROUS_STRONG)
            return set_v(v, "time-based", 0.9, last);
        if (strchr("sn", a->type) && (b == NULL || strchr("&c", b->type)) &&
            strchr("=-+*|", t->word[0]) && strlen(t->word) <= 2)
            return set_v(v, "operator-break", 0.75, i + 1);
    }
    return false;
}

/* Anywhere in the raw token stream: UNION SELECT, a stacked statement after a value, a
 * dangerous function right after an operator, executable comments with SQL in them. */
static bool anywhere(const struct tok *T, size_t n, bool exec_comment, struct verdict *v,
                     size_t *first)
{
    bool sql = false;

    for (size_t i = 0; i < n; i++) {
        const char p = i > 0 ? T[i - 1].type : '^';
        if (T[i].type == 'U' && union_select(T, n, i)) {
            *first = i > 0 ? i - 1 : i;
            return set_v(v, "union-select", 0.9, i + 6 < n ? i + 6 : n - 1);
        }
        if (T[i].type == ';' && strchr("^ns)c", p) && i + 1 < n && valid_stmt(T, n, i + 1)) {
            *first = i > 0 ? i - 1 : i;
            return set_v(v, "stacked-query", 0.9, i + 5 < n ? i + 5 : n - 1);
        }
        bool after_kw = i > 0 && (is_word(&T[i - 1], "then") || is_word(&T[i - 1], "else") ||
                                  is_word(&T[i - 1], "select"));
        if (T[i].type == 'f' && (strchr("^&o(;,", p) || after_kw) && i + 1 < n &&
            T[i + 1].type == '(') {
            int d = dangerous_rank(&T[i]);
            if (d >= 0 && d < DANGEROUS_STRONG && i + 2 < n && strchr("nsf(Ev", T[i + 2].type)) {
                *first = i > 0 ? i - 1 : i;
                return set_v(v,
                             is_word(&T[i], "sleep") || is_word(&T[i], "pg_sleep") ||
                                     is_word(&T[i], "benchmark")
                                 ? "time-based"
                                 : "error-based",
                             0.85, i + 4 < n ? i + 4 : n - 1);
            }
        }
        if (strchr("UE&", T[i].type))
            sql = true;
    }
    if (exec_comment && sql) {
        *first = 0;
        return set_v(v, "mysql-comment", 0.9, n - 1);
    }
    return false;
}

static uint64_t shape_of(const struct tok *T, size_t first, size_t last)
{
    uint64_t h = obs_fnv(OBS_FNV_BASIS, "sqli", 4);

    for (size_t i = first; i <= last; i++) {
        h = obs_fnv(h, &T[i].type, 1);
        if (strchr("UEk&ofBv", T[i].type))
            h = obs_fnv(h, T[i].word, strlen(T[i].word));
    }
    return h;
}

static size_t lex_all(struct lexer *lx, struct tok *T, size_t cap)
{
    size_t n = 0;

    while (n < cap && next_tok(lx, &T[n]))
        n++;
    return n;
}

static void better(struct obs_sql_hit *hit, bool *found, const struct verdict *v,
                   const struct tok *T, size_t first)
{
    if (*found && hit->confidence >= v->confidence)
        return;
    *found = true;
    hit->technique = v->technique;
    hit->confidence = v->confidence;
    hit->start = T[first].start;
    hit->end = T[v->last].end;
    hit->shape = shape_of(T, first, v->last);
}

/* Can the quote at text[p] close a string the attacker opened? Not when it sits inside a word
 * (O'Brien, don't) and the word after it is no SQL keyword ('or'1'='1 still counts). */
static bool may_break(const char *text, size_t len, size_t p)
{
    size_t k = p + 1, w;
    char word[12];

    if (p == 0 || !word_char((unsigned char)text[p - 1]) || k >= len ||
        !word_char((unsigned char)text[k]))
        return true;
    for (w = 0; k < len && w < sizeof word - 1 && word_char((unsigned char)text[k]); k++)
        word[w++] = lc(text[k]);
    if (k < len && word_char((unsigned char)text[k]))
        return false; /* longer than any keyword */
    word[w] = '\0';
    char t = keyword_type(word);
    return t == '&' || t == 'U' || t == 'E' || t == 'o' || (t == 'k' && strcmp(word, "or") == 0);
}

/* The position of the first quote (' or ") at or after p, or len. */
static size_t next_quote(const char *text, size_t len, size_t p)
{
    while (p < len && text[p] != '\'' && text[p] != '"')
        p++;
    return p;
}

/* Does a statement verb follow one of the value's semicolons (spaces and inline comments
 * between)? Prose has semicolons too; stacked queries need a verb after one. */
static bool verb_after_semicolon(const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        struct lexer lx = {
            .s = text, .len = len, .pos = (size_t)(p - text) + 1, .exec_comment = false};
        struct tok t;
        if (next_tok(&lx, &t) && t.type == 'E')
            return true;
        p++;
    }
    return false;
}

bool obs_sql_check(const char *text, size_t len, unsigned contexts, struct obs_sql_hit *hit)
{
    struct tok T[SQL_MAX_TOKENS];
    struct lexer lx = {.s = text, .len = len, .pos = 0, .exec_comment = false};
    struct verdict v;
    bool found = false;
    size_t n, quotes = 0, first = 0;

    if ((contexts & OBS_SQL_STACKED) && !(contexts & OBS_SQL_ANYWHERE) &&
        verb_after_semicolon(text, len))
        contexts |= OBS_SQL_ANYWHERE;
    /* raw context: the value pasted as is (numeric parameters) */
    /* all tokens only when something may hide deep in the value */
    n = (contexts & OBS_SQL_ANYWHERE) ? lex_all(&lx, T, SQL_MAX_TOKENS)
        : (contexts & OBS_SQL_RAW)    ? lex_all(&lx, T, SQL_CTX_TOKENS)
                                      : 0;
    if (n > 0) {
        size_t i = 0;
        if (T[0].type == 'o' && (is_word(&T[0], "-") || is_word(&T[0], "+")) && n > 1)
            i = 1;
        if (T[i].type == 'n' &&
            after_break(T, n < SQL_CTX_TOKENS ? n : SQL_CTX_TOKENS, i + 1, false, &v))
            better(hit, &found, &v, T, 0);
        /* a whole pair as the value: "id=1 or 1=1" */
        if (n > 3 && T[0].type == 'b' && is_word(&T[1], "=") && T[2].type == 'n' &&
            after_break(T, n < SQL_CTX_TOKENS ? n : SQL_CTX_TOKENS, 3, false, &v))
            better(hit, &found, &v, T, 0);
        /* a value that starts with the condition itself: "or 1=1--" */
        if (T[0].type == '&' &&
            after_break(T, n < SQL_CTX_TOKENS ? n : SQL_CTX_TOKENS, 0, false, &v))
            better(hit, &found, &v, T, 0);
        if ((contexts & OBS_SQL_ANYWHERE) && anywhere(T, n, lx.exec_comment, &v, &first))
            better(hit, &found, &v, T, first);
    }
    /* quote contexts: the value pasted inside '...' or "...", each quote a possible break */
    for (size_t p = (contexts & OBS_SQL_QUOTED) ? next_quote(text, len, 0) : len;
         p < len && quotes < SQL_MAX_QUOTES && (!found || hit->confidence < 0.95);
         p = next_quote(text, len, p + 1)) {
        if (!may_break(text, len, p))
            continue;
        quotes++;
        struct lexer q = {.s = text, .len = len, .pos = p + 1, .exec_comment = false};
        /* what follows a break must be SQL: a comment, UNION, ';', a clause, a condition, an
         * operator or ')'; a word or a number there is prose (it's, 'quoted' text) */
        struct tok t1;
        struct lexer peek = q;
        if (!next_tok(&peek, &t1) || !strchr("cU;EBk&o)", t1.type))
            continue;
        T[0].type = 's';
        T[0].start = p;
        T[0].end = p + 1;
        T[0].word[0] = '\0';
        n = 1 + lex_all(&q, T + 1, SQL_CTX_TOKENS - 1);
        if (n > 1 && after_break(T, n, 1, true, &v))
            better(hit, &found, &v, T, 0);
    }
    return found;
}
