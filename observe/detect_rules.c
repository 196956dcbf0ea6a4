/* The payload rule table: one row per signature, its class, technique, confidence, regular
 * expression and anchor. Hyperscan compiles every anchor together (mostly literals, which its
 * literal matchers scan at memory speed); a row whose anchor matched is confirmed by PCRE2 with
 * the full expression, or by the SQL tokeniser or the SSRF address parser for rows that only
 * select candidates. An anchor must match wherever its expression does (a necessary condition);
 * a row without one gives Hyperscan its expression in prefilter mode.
 * Expressions are matched case-insensitively with '.' matching newlines, on bytes (no UTF mode:
 * invalid UTF-8 is just bytes). Ids are row indexes. */
#include "observe/detect_rules.h"

#define SEP "(?:[;&|\\n\\r]|\\$\\()"
#define CMD_PATH "(?:sudo\\s+)?(?:/(?:usr/)?(?:local/)?s?bin/)?"
#define CMDS_ALONE                                                                                 \
    "(?:id|whoami|uname|ifconfig|ipconfig|hostname|pwd|env|printenv|ps|netstat|ls|systeminfo|"     \
    "tasklist|uptime|lsb_release)"
#define CMDS_SUBST                                                                                 \
    "(?:cat|id|whoami|uname|curl|wget|sleep|echo|ls|env|nslookup|dig|ping|base64|printenv|"        \
    "hostname|nc|bash|sh|python|perl|head|tail|rm|touch|expr)"
/* arguments a probing command takes: options, paths, variables, ENV_NAMES, numbers */
#define ARGS "(?:\\s+(?:-{1,2}[\\w=-]+|[/~.$][^\\s;&|]*|(?-i:[A-Z_]{3,})|\\d+|aux|/\\w+))*"
#define MONGO_OPS                                                                                  \
    "(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|nor|not|elemmatch|size|all|"     \
    "type|mod|text|function|accumulator|jsonschema|options)"
#define SENSITIVE                                                                                  \
    "(?:etc[/\\\\](?:passwd|shadow|group|hosts|issue|hostname|sudoers|crontab|os-release|"         \
    "resolv\\.conf|environment|profile|fstab)|proc[/\\\\](?:self|\\d+)[/\\\\]|"                    \
    "windows[/\\\\](?:win\\.ini|system\\.ini|system32)|winnt[/\\\\]|boot\\.ini|"                   \
    "var[/\\\\](?:task|runtime|log|www|lib|run)|\\.env\\b|\\.aws[/\\\\]|\\.ssh[/\\\\]|"            \
    "\\.git[/\\\\]|\\.bash_history|id_rsa|web\\.config|wp-config\\.php|web-inf[/\\\\]|"            \
    "\\.htaccess|\\.htpasswd|config\\.(?:php|json|ya?ml|js|ini)|package\\.json|"                   \
    "handler\\.(?:js|py|rb)|inetpub|root[/\\\\]|home[/\\\\]|usr[/\\\\]|opt[/\\\\]|tmp[/\\\\])"

const struct obs_rule obs_rules[] = {
    /* ---- SQL injection: candidates for the tokeniser ---- */
    {OBS_SQLI, "raw", 0.0, OBS_CONFIRM_SQL_RAW,
     "^\\s*(?:[-+(]?\\s*\\d|(?:or|and|xor|\\|\\||&&)\\s|\\w+=\\d)", NULL, OBS_START_SQL},
    {OBS_SQLI, "stacked", 0.0, OBS_CONFIRM_SQL_STACKED, ";", NULL, OBS_START_NONE},
    {OBS_SQLI, "anywhere", 0.0, OBS_CONFIRM_SQL_ANYWHERE,
     "union|/\\*!|sleep|benchmark|extractvalue|updatexml|load_file|receive_message|"
     "xp_cmdshell|randomblob|pg_read_file|get_host_address|name_const|gtid_subset|lo_import|"
     "xp_dirtree",
     NULL, OBS_START_NONE},
    {OBS_SQLI, "quoted", 0.0, OBS_CONFIRM_SQL_QUOTED, "['\"]", NULL, OBS_START_NONE},

    /* ---- NoSQL injection ---- */
    {OBS_NOSQLI, "operator-in-query", 0.95, OBS_CONFIRM_PCRE, "\\[\\s*\\$" MONGO_OPS "\\s*\\]",
     "\\[\\s*\\$", OBS_START_NONE},
    {OBS_NOSQLI, "operator-key", 0.9, OBS_CONFIRM_PCRE,
     "^\\s*\\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|nor|not|elemmatch|"
     "function|accumulator|jsonschema)\\s*$",
     NULL, OBS_START_DOLLAR},
    {OBS_NOSQLI, "operator-object", 0.9, OBS_CONFIRM_PCRE,
     "[{,]\\s*[\"']?\\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|nor|not|"
     "elemmatch|function|accumulator|size|all|mod|options)[\"']?\\s*:",
     "\\$(?:ne|eq|gt|lt|in|nin|regex|where|exists|expr|or|nor|not|elemmatch|function|accumulator|"
     "size|all|mod|options)",
     OBS_START_NONE},
    {OBS_NOSQLI, "mongo-shell", 0.8, OBS_CONFIRM_PCRE,
     "\\bdb\\.\\w+\\.(?:insert|find|findOne|remove|drop|update|mapReduce|aggregate|"
     "deleteMany|updateMany)\\s*\\(\\s*\\{|;\\s*sleep\\s*\\(\\s*\\d{3,}\\s*\\)",
     "db\\.|sleep", OBS_START_NONE},
    {OBS_NOSQLI, "js-injection", 0.85, OBS_CONFIRM_PCRE,
     "['\"]\\s*(?:;|\\|\\||&&)\\s*(?:return\\s|sleep\\s*\\(|while\\s*\\(\\s*(?:true|1)|"
     "this\\.\\w+|db\\.\\w+|['\"]?\\w*['\"]?\\s*===?\\s*['\"]?\\w*['\"]?|true\\b|"
     "function\\s*\\(|obj\\.)",
     "[\\'\"]\\s*(?:;|\\|\\||&&)", OBS_START_NONE},
    {OBS_NOSQLI, "js-injection", 0.85, OBS_CONFIRM_PCRE,
     "\\$where\\b|\\bthis\\.\\w+\\s*(?:==|!=|\\.match\\()|\\|\\|\\s*['\"]?1['\"]?\\s*==\\s*['\"]?1",
     "\\$where|this\\.|\\|\\|", OBS_START_NONE},

    /* ---- OS command injection ---- */
    {OBS_CMDI, "chained-command", 0.9, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:cat|head|tail|more|less|tac|strings|xxd)"
         "(?:\\s+-\\w+(?:\\s+\\d+)?)*\\s+"
         "(?:/|~|\\.\\.?/|\\*|\\$|[\\w.-]*\\.\\w{1,5}\\b|flag|passwd|<)",
     "(?:cat|head|tail|more|less|tac|strings|xxd)\\s", OBS_START_NONE},
    {OBS_CMDI, "quote-evasion", 0.85, OBS_CONFIRM_PCRE,
     "(?:[;&|\\n]|\\$\\()\\s*[a-z]{1,4}(?:''|\"\"|\\\\)[a-z]{1,6}\\s+[-/$]",
     "[a-z](?:\\'\\'|\"\"|\\\\)[a-z]", OBS_START_NONE},
    {OBS_CMDI, "glob-evasion", 0.9, OBS_CONFIRM_PCRE,
     "(?:[;&|]|\\$\\()\\s*/[?*]{1,3}/[a-z?*]*\\?|/\\?\\?\\?/[a-z?]{1,4}\\?[a-z?]*\\s+/", "/[?*]",
     OBS_START_NONE},
    {OBS_CMDI, "chained-command", 0.9, OBS_CONFIRM_PCRE,
     "(?:[;&\\n\\r]|\\$\\()\\s*" CMD_PATH CMDS_ALONE ARGS "\\s*(?:$|[;&|#\\x60)>])|"
     "\\|\\|?\\s*" CMD_PATH CMDS_ALONE ARGS "\\s*(?:$|[;&#\\x60)>])",
     "(?:[;&|\\n\\r]|\\$\\()\\s*(?:sudo\\s+)?(?:/[\\w/]*)?(?:id|whoami|uname|ifconfig|ipconfig|"
     "hostname|pwd|env|printenv|ps|netstat|ls|systeminfo|tasklist|uptime|lsb_release)",
     OBS_START_NONE},
    {OBS_CMDI, "download", 0.95, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:curl|wget|fetch|lwp-download|tftp)\\s+"
         "(?:-\\w|https?:|ftp:|[\\w.-]+\\.[a-z]{2,}|\\d+\\.\\d+|\\$|\\x60|['\"]https?:)",
     "\\b(?:curl|wget|fetch|lwp-download|tftp)\\b", OBS_START_NONE},
    {OBS_CMDI, "reverse-shell", 0.95, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:nc|ncat|netcat|telnet|socat)(?:\\.exe)?\\s+"
         "(?:-\\w|\\d|[\\w.-]+\\.[a-z]{2,}|\\$|[a-z-]+:)",
     "\\b(?:nc|ncat|netcat|telnet|socat)\\b", OBS_START_NONE},
    {OBS_CMDI, "reverse-shell", 0.95, OBS_CONFIRM_PCRE,
     "/dev/(?:tcp|udp)/|\\b(?:ba)?sh\\s+-i\\s*>&|mkfifo\\s+/tmp/|\\bnc\\s+-e\\s+/bin/",
     "/dev/tcp/|/dev/udp/|>&|mkfifo|nc\\s+-e", OBS_START_NONE},
    {OBS_CMDI, "shell-exec", 0.9, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:ba|z|k|da|c|tc)?sh\\b\\s*(?:-[ic]\\b|<|$|[;&|]|/|[\\w.-]+\\.sh)",
     "\\b(?:ba|z|k|da|c|tc)?sh\\b", OBS_START_NONE},
    {OBS_CMDI, "shell-exec", 0.9, OBS_CONFIRM_PCRE,
     "(?:[;&|\\x60]|\\$\\(|-e\\s|exec\\s)\\s*/bin/(?:ba|z|da|k)?sh\\b", "/bin/", OBS_START_NONE},
    {OBS_CMDI, "interpreter", 0.95, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:python[23]?|perl|ruby|php|node|lua|pwsh)\\s+-[ecr]\\b",
     "\\b(?:python[23]?|perl|ruby|php|node|lua|pwsh)\\s+-", OBS_START_NONE},
    {OBS_CMDI, "time-delay", 0.85, OBS_CONFIRM_PCRE, SEP "\\s*" CMD_PATH "(?:sleep|timeout)\\s+\\d",
     "\\b(?:sleep|timeout)\\s+\\d", OBS_START_NONE},
    {OBS_CMDI, "network-probe", 0.85, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:ping|ping6)\\s+(?:-\\w+\\s+\\d+\\s+)*(?:-\\w|[\\w.$-]+\\.[\\w$]|\\d)",
     "\\bping6?\\s", OBS_START_NONE},
    {OBS_CMDI, "dns-exfiltration", 0.85, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:nslookup|dig|host)\\s+[\\w.$\\x60{}()-]+\\.[\\w$]",
     "\\b(?:nslookup|dig|host)\\s", OBS_START_NONE},
    {OBS_CMDI, "destructive-command", 0.9, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:rm\\s+-[rf]+|chmod\\s+[0-7+]|chown\\s|mkfifo\\s|kill\\s+-9|killall\\s|"
         "crontab\\s|nohup\\s|touch\\s+/|cp\\s+/|mv\\s+/|dd\\s+if=|tee\\s+/"
         "|echo\\s+[^;&|\\n]{0,80}>\\s*/)",
     "chmod|chown|mkfifo|kill|crontab|nohup|touch|echo|\\brm\\s|\\bcp\\s|\\bmv\\s|\\bdd\\s|"
     "\\btee\\s",
     OBS_START_NONE},
    {OBS_CMDI, "echo-probe", 0.85, OBS_CONFIRM_PCRE,
     SEP "\\s*" CMD_PATH "(?:echo|printf)\\s+[^;&|\\n]{0,80}?(?:\\||>|\\$\\(|\\x60|\\$\\w|"
         "\\s*$|\\s*[;&#])",
     "\\b(?:echo|printf)\\s", OBS_START_NONE},
    {OBS_CMDI, "windows-command", 0.9, OBS_CONFIRM_PCRE,
     "(?:^|[;&|\\n])\\s*(?:cmd(?:\\.exe)?\\s+/[ckr]|powershell(?:\\.exe)?\\s+-(?:e|enc|"
     "encodedcommand|c|command|nop|noprofile|w|windowstyle|ep|exec|executionpolicy)\\b|"
     "certutil(?:\\.exe)?\\s+-urlcache|bitsadmin\\s+/transfer|net\\s+(?:user|localgroup)\\b|"
     "type\\s+(?:[a-z]:|%\\w+%)?\\\\|dir\\s+(?:[a-z]:|\\\\)|whoami\\s*/(?:all|priv|groups))",
     "\\b(?:cmd|powershell|certutil|bitsadmin|net|type|dir|whoami)\\b", OBS_START_NONE},
    {OBS_CMDI, "code-exec-call", 0.85, OBS_CONFIRM_PCRE,
     "(?:^|[;|&'\"(]\\s*)(?:system|exec|shell_exec|passthru|popen|proc_open|os\\.system|"
     "subprocess\\.(?:call|run|Popen|check_output))\\s*\\(\\s*['\"\\x60]\\s*(?:cat|ls|id|whoami|"
     "uname|curl|wget|nc|bash|sh|rm|echo|ping|nslookup|powershell|cmd)\\b",
     "\\b(?:system|exec|shell_exec|passthru|popen|proc_open|call|run|popen|check_output)\\s*\\(",
     OBS_START_NONE},
    {OBS_CMDI, "ifs-evasion", 0.95, OBS_CONFIRM_PCRE, "\\$\\{IFS\\}|\\$IFS\\$\\d|\\$\\{IFS%",
     "\\$\\{?IFS", OBS_START_NONE},
    {OBS_CMDI, "command-substitution", 0.95, OBS_CONFIRM_PCRE,
     "\\$\\(\\s*" CMD_PATH CMDS_SUBST "\\b[^)]*\\)", "\\$\\(", OBS_START_NONE},
    {OBS_CMDI, "command-substitution", 0.9, OBS_CONFIRM_PCRE,
     "(?:^|[^\\s])\\x60\\s*" CMD_PATH CMDS_SUBST "\\b[^\\x60]*\\x60", "\\x60", OBS_START_NONE},
    {OBS_CMDI, "brace-expansion", 0.95, OBS_CONFIRM_PCRE,
     "\\{(?:cat|ls|id|curl|wget|nc|bash|sh|echo|ping|sleep|whoami),[^}\\s]+\\}",
     "\\{(?:cat|ls|id|curl|wget|nc|bash|sh|echo|ping|sleep|whoami),", OBS_START_NONE},
    {OBS_CMDI, "pipe-to-shell", 0.9, OBS_CONFIRM_PCRE,
     "\\|\\s*(?:/bin/)?(?:ba|z|da)?sh\\s*(?:$|[;&#)\\s])|base64\\s+(?:-d|--decode)\\s*\\||"
     "\\|\\s*base64\\s+(?:-w|--wrap)",
     "\\|\\s*(?:/bin/)?(?:ba|z|da)?sh\\b|base64", OBS_START_NONE},

    /* ---- path traversal ---- */
    {OBS_PATH_TRAVERSAL, "traversal-sensitive", 0.95, OBS_CONFIRM_PCRE,
     "(?:\\.\\.[/\\\\]+)+(?:[\\w.-]+[/\\\\]+){0,6}" SENSITIVE, "\\.\\.[/\\\\]", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "deep-traversal", 0.75, OBS_CONFIRM_PCRE, "(?:\\.\\.[/\\\\]+){4,}",
     "(?:\\.\\.[/\\\\]+){4}", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "filter-evasion", 0.9, OBS_CONFIRM_PCRE,
     "(?:\\.{3,}[/\\\\]{1,2}){2,}|\\.\\.;[/\\\\]|(?:\\.\\.[/\\\\]){1,}\\.\\.;|"
     "\\.\\.(?:[/\\\\]\\.)+[/\\\\]\\.\\.|(?:\\.[/\\\\]){4,}\\.\\.|"
     "(?:\\.\\.[\\x00-\\x1f]+[/\\\\]){2,}",
     "\\.\\.\\.|\\.\\.;|\\.[/\\\\]\\.|\\.\\.[\\x00-\\x1f]", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "unc-path", 0.8, OBS_CONFIRM_PCRE, "^\\s*\\\\\\\\[\\w.-]+\\\\[\\w$.-]+",
     NULL, OBS_START_PATH},
    {OBS_PATH_TRAVERSAL, "overlong-utf8", 0.95, OBS_CONFIRM_PCRE,
     "(?:\\xc0\\xae){2}|\\.\\.(?:\\xc0\\xaf|\\xc1\\x9c|\\xc0\\x2f|\\xc1\\x1c|\\xe0\\x80\\xaf|"
     "\\xe2\\x88\\x95|"
     "\\xe2\\x88\\x96|\\xef\\xbc\\x8f|\\xef\\xbc\\xbc)|(?:\\xef\\xbc\\x8e){2}",
     "\\xc0\\xae|\\.\\.(?:\\xc0|\\xc1|\\xe0\\x80|\\xe2\\x88|\\xef\\xbc)|\\xef\\xbc\\x8e",
     OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "absolute-sensitive", 0.9, OBS_CONFIRM_PCRE,
     "^\\s*(?:file:)?(?:/+|[a-z]:[\\\\/]+|\\\\\\\\)(?:etc/+(?:passwd|shadow|group|hosts|sudoers|"
     "crontab|os-release|hostname|environment|issue)|proc/(?:self|\\d+)/|var/task\\b|"
     "var/runtime\\b|opt/extensions|root/|windows[\\\\/](?:win\\.ini|system32)|"
     "inetpub|boot\\.ini)",
     NULL, OBS_START_PATH},
    {OBS_PATH_TRAVERSAL, "proc-self", 0.95, OBS_CONFIRM_PCRE,
     "/proc/(?:self|\\d+|thread-self)/(?:environ|cmdline|maps|fd/|status|cwd|exe|mem|root|"
     "mounts|stat)",
     "/proc/", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "sensitive-file", 0.85, OBS_CONFIRM_PCRE,
     "(?:^|[\\s=:'\"(])/etc/(?:passwd|shadow|sudoers)\\b|[a-z]:\\\\windows\\\\(?:win\\.ini|"
     "system32\\\\)|/var/task/[\\w.-]+\\.(?:js|py|mjs|rb|json)|\\\\\\\\[\\w.-]+\\\\(?:c|admin)\\$",
     "/etc/|\\\\windows\\\\|/var/task/|\\\\\\\\", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "php-wrapper", 0.95, OBS_CONFIRM_PCRE,
     "\\b(?:php://(?:filter|input|fd|memory|temp)|expect://|zip://|phar://|data://text/|"
     "compress\\.(?:zlib|bzip2)://|glob://)",
     "php://|expect://|zip://|phar://|data://|compress\\.|glob://", OBS_START_NONE},
    {OBS_PATH_TRAVERSAL, "null-byte", 0.85, OBS_CONFIRM_PCRE,
     "[\\w/\\\\]\\x00\\.?(?:jpe?g|png|gif|pdf|html?|txt|php|js|css|xml|docx?)\\b", "\\x00",
     OBS_START_NONE},

    /* ---- SSRF: cloud metadata and the Lambda runtime API by name, then candidates for the
     * address parser (URLs and bare addresses in every encoding) ---- */
    {OBS_SSRF, "metadata-host", 0.95, OBS_CONFIRM_PCRE,
     "169\\.254\\.169\\.254|169\\.254\\.170\\.2\\b|fd00:ec2::254|metadata\\.google\\.internal",
     "169\\.254\\.1|fd00:ec2::254|metadata\\.google\\.internal", OBS_START_NONE},
    {OBS_SSRF, "runtime-api", 0.95, OBS_CONFIRM_PCRE,
     "/2018-06-01/runtime/|/2020-01-01/extension/|aws_lambda_runtime_api",
     "/2018-06-01/runtime/|/2020-01-01/extension/|aws_lambda_runtime_api", OBS_START_NONE},
    {OBS_SSRF, "metadata-path", 0.9, OBS_CONFIRM_PCRE,
     "/latest/(?:meta-data|user-data|api/token)|/computemetadata/v1|/metadata/identity/oauth2|"
     "/metadata/instance\\b|/opc/v[12]/instance",
     "/latest/|/computemetadata/|/metadata/|/opc/v", OBS_START_NONE},
    {OBS_SSRF, "dangerous-scheme", 0.85, OBS_CONFIRM_PCRE,
     "\\bjar:(?:https?|file|ftp):", "jar:", OBS_START_NONE},
    {OBS_SSRF, "address-parser", 0.0, OBS_CONFIRM_SSRF,
     "://|^\\s*(?:[/\\\\]{2}|\\[|[0-9]|localhost)|\\.(?:nip|sslip|xip)\\.io|localtest\\.me",
     "://|\\.nip\\.io|\\.sslip\\.io|\\.xip\\.io|localtest\\.me", OBS_START_ADDRESS},

    /* ---- XXE ---- */
    {OBS_XXE, "external-entity", 0.95, OBS_CONFIRM_PCRE,
     "<!ENTITY\\s+(?:%\\s*)?[\\w.:-]+\\s+(?:SYSTEM|PUBLIC)\\b", "<!entity", OBS_START_NONE},
    {OBS_XXE, "parameter-entity", 0.95, OBS_CONFIRM_PCRE, "<!ENTITY\\s+%\\s*[\\w.:-]+", "<!entity",
     OBS_START_NONE},
    {OBS_XXE, "external-dtd", 0.9, OBS_CONFIRM_PCRE,
     "<!DOCTYPE\\s+[\\w:.-]+\\s+(?:SYSTEM|PUBLIC)\\s+[\"'][^\"']*(?:https?|file|ftp|php|expect|"
     "jar|netdoc|gopher|data)\\s*:",
     "<!doctype", OBS_START_NONE},
    {OBS_XXE, "inline-entity", 0.85, OBS_CONFIRM_PCRE, "<!DOCTYPE[^>]{0,200}\\[\\s*<!ENTITY",
     "<!doctype", OBS_START_NONE},
    {OBS_XXE, "entity-declaration", 0.75, OBS_CONFIRM_PCRE, "<!ENTITY\\s", "<!entity",
     OBS_START_NONE},
    {OBS_XXE, "xinclude", 0.9, OBS_CONFIRM_PCRE,
     "<xi:include\\b|xmlns:xi\\s*=\\s*[\"']http://www\\.w3\\.org/2001/XInclude", "<xi:|xinclude",
     OBS_START_NONE},
    {OBS_XXE, "xslt", 0.85, OBS_CONFIRM_PCRE,
     "<xsl:(?:value-of|copy-of)\\s+select\\s*=\\s*[\"'](?:system-property|document|"
     "unparsed-text)\\s*\\(|<xsl:stylesheet[^>]*xmlns:(?:php|rt|java)",
     "<xsl:", OBS_START_NONE},

    /* ---- server-side template injection ---- */
    {OBS_SSTI, "jinja-twig", 0.9, OBS_CONFIRM_PCRE,
     "\\{\\{[^}]{0,80}?(?:\\d+\\s*[*+/-]\\s*['\"]?\\d+|\\bconfig\\b|\\bself\\b|\\brequest\\b|"
     "__class__|__mro__|__subclasses__|__globals__|__builtins__|__init__|\\blipsum\\b|"
     "\\bcycler\\b|\\bjoiner\\b|\\bnamespace\\b|\\bos\\b|popen|\\[['\"]_|\\|attr\\b|\\b_self\\b|"
     "getFilter|registerUndefinedFilterCallback|\\bconstructor\\b|\\brange\\(|\\bdump\\(|"
     "\\|\\s*(?:map|filter|sort)\\s*\\(\\s*['\"](?:system|exec|passthru))",
     "\\{\\{", OBS_START_NONE},
    {OBS_SSTI, "expression-probe", 0.85, OBS_CONFIRM_PCRE,
     "(?:\\$|#|\\*|@)\\{\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*\\}|<%=\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*%>|"
     "@\\(\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*\\)|\\[\\[\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*\\]\\]|"
     "\\$\\{\\{\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*\\}\\}|\\{\\{\\s*=\\s*\\d+\\s*[*+/-]\\s*\\d+",
     "\\$\\{|#\\{|\\*\\{|@\\(|<%|\\[\\[|\\{\\{", OBS_START_NONE},
    {OBS_SSTI, "el-injection", 0.95, OBS_CONFIRM_PCRE,
     "[$#*]\\{[^}]{0,100}?(?:jndi:|\\bT\\s*\\(\\s*java|getRuntime|\\.exec\\s*\\(|\\bRuntime\\b|"
     "ProcessBuilder|class\\.forName|pageContext\\.|new\\s+java|freemarker|\\.getClass\\s*\\(|\\$"
     "\\{::-|"
     "\\blower:|\\bupper:|\\benv:|\\bsys:|\\bctx:|\\bdate:|\\bmain:|\\bjava:|\\bbase64:|"
     "\\bscript:|\\bdns:|\\burl:|\\bfile:)",
     "[$#*]\\{", OBS_START_NONE},
    {OBS_SSTI, "freemarker", 0.95, OBS_CONFIRM_PCRE,
     "<#assign\\b|<#import\\b|freemarker\\.template\\.utility\\.(?:Execute|ObjectConstructor|"
     "JythonRuntime)|\\?new\\s*\\(\\s*\\)|\\?api\\.",
     "<#|freemarker|\\?new|\\?api", OBS_START_NONE},
    {OBS_SSTI, "velocity", 0.85, OBS_CONFIRM_PCRE,
     "#set\\s*\\(\\s*\\$\\w+\\s*=|\\$class\\.inspect|#foreach\\s*\\(\\s*\\$|"
     "\\$\\{?\\w+\\.getClass\\s*\\(\\)",
     "#set|\\$class|#foreach|getclass", OBS_START_NONE},
    {OBS_SSTI, "template-tag", 0.8, OBS_CONFIRM_PCRE,
     "\\{%\\s*(?:import\\s+os|include\\s+['\"]/|extends\\s+['\"]/|debug\\s*%|"
     "set\\s+\\w+\\s*=\\s*[^%]{0,80}(?:__|popen|system|cycler|lipsum|self)|"
     "for\\s+\\w+\\s+in\\s+[^%]{0,80}__subclasses__)",
     "\\{%", OBS_START_NONE},
    {OBS_SSTI, "smarty", 0.9, OBS_CONFIRM_PCRE,
     "\\{php\\}|\\{system\\s*\\(|\\{\\$smarty\\.(?:version|template_object)|"
     "\\{self::getStreamVariable|\\{Smarty_Internal|\\{passthru\\s*\\(|\\{exec\\s*\\(",
     "\\{php\\}|\\{system|\\{\\$smarty|\\{self::|\\{smarty_internal|\\{passthru|\\{exec",
     OBS_START_NONE},
    {OBS_SSTI, "handlebars", 0.85, OBS_CONFIRM_PCRE,
     "\\{\\{#with\\s+[\"'\\w]|\\{\\{#each\\s+conslist|\\{\\{this\\.push|\\{\\{lookup\\s|"
     "\\{\\{\\s*constructor|\\bconstructor\\.constructor\\s*\\(",
     "\\{\\{#|\\{\\{this|\\{\\{lookup|constructor", OBS_START_NONE},
    {OBS_SSTI, "erb", 0.9, OBS_CONFIRM_PCRE,
     "<%[=-]?\\s*(?:system|exec|eval|spawn|File\\.|IO\\.|require|%x|\\x60|Dir\\.|open\\s*\\(|"
     "import\\s+os|\\$\\{|Runtime)",
     "<%", OBS_START_NONE},
    {OBS_SSTI, "ognl", 0.95, OBS_CONFIRM_PCRE,
     "%\\{[^}]{0,200}?(?:#_memberAccess|#context|@java\\.lang|#cmd|ognl|#request|"
     "#a\\s*=|@ognl|#dm\\s*=)|\\(#_memberAccess|#_memberAccess\\[",
     "%\\{|#_memberaccess", OBS_START_NONE},
    {OBS_SSTI, "polyglot-probe", 0.9, OBS_CONFIRM_PCRE,
     "\\$\\{\\{<%\\[%['\"]|\\{\\{\\s*\\d+\\s*\\*\\s*\\d+\\s*\\}\\}\\s*\\$\\{",
     "\\$\\{\\{|\\}\\}\\s*\\$\\{", OBS_START_NONE},
    {OBS_SSTI, "pug-mako", 0.9, OBS_CONFIRM_PCRE,
     "#\\{[^}]{0,100}?\\b(?:process|require|global)\\b|\\$\\{\\s*self\\.module|"
     "<%\\s*import\\s+os|\\$\\{\\s*__import__",
     "#\\{|\\$\\{|<%", OBS_START_NONE},

    /* ---- insecure deserialisation and runtime code injection ---- */
    {OBS_DESERIALIZATION, "java-serialized", 0.95, OBS_CONFIRM_PCRE,
     "rO0AB[A-Za-z0-9+/]|\\xac\\xed\\x00\\x05|\\baced0005[0-9a-f]{4}|H4sIAAAAAAAA[A-Za-z0-9+/"
     "]{0,8}rO0",
     "ro0ab|\\xac\\xed\\x00\\x05|aced0005", OBS_START_NONE},
    {OBS_DESERIALIZATION, "php-object", 0.95, OBS_CONFIRM_PCRE,
     "(?:^|[;{}:\"'\\s=])[OC]:\\+?\\d{1,4}:\"[a-z_\\\\][\\w\\\\]{0,200}\":\\d{1,4}:\\{",
     "[oc]:\\+?\\d+:\"", OBS_START_NONE},
    {OBS_DESERIALIZATION, "python-pickle", 0.9, OBS_CONFIRM_PCRE,
     "^\\s*gA(?:SV|WV|N[a-zA-Z0-9+/]|J[a-zA-Z0-9+/])[A-Za-z0-9+/=]{8,}|^\\x80[\\x02-\\x05]|"
     "(?:^|\\n)c(?:os|posix|nt|subprocess|builtins|__builtin__)\\n(?:system|popen|exec|eval|"
     "check_output|getattr|call)\\n|\\x8c(?:\\x05posix|\\x02os|\\x08builtins|\\x0asubprocess)\\x94",
     "cos\\n|cposix\\n|cnt\\n|csubprocess\\n|cbuiltins\\n|c__builtin__\\n|\\x8c", OBS_START_PICKLE},
    {OBS_DESERIALIZATION, "node-serialize", 0.99, OBS_CONFIRM_PCRE, "_\\$\\$ND_FUNC\\$\\$_",
     "_\\$\\$nd_func\\$\\$_", OBS_START_NONE},
    {OBS_DESERIALIZATION, "yaml-gadget", 0.95, OBS_CONFIRM_PCRE,
     "!!python/(?:object|name|module)|tag:yaml\\.org,2002:python/|"
     "!!(?:javax?|com\\.sun|org\\.springframework|org\\.apache|ruby)[\\w.]*|"
     "!ruby/(?:object|hash|struct|class|sym)|!!(?:map|set)\\s*\\{\\s*\\?\\s*!!",
     "!!|!ruby/|tag:yaml", OBS_START_NONE},
    {OBS_DESERIALIZATION, "dotnet-gadget", 0.95, OBS_CONFIRM_PCRE,
     "AAEAAAD/////|[\"']\\$type[\"']\\s*:\\s*[\"']System\\.(?:Windows\\.Data\\.ObjectDataProvider|"
     "Configuration\\.Install\\.AssemblyInstaller|Security\\.Principal\\.WindowsIdentity|"
     "Management\\.Automation|IO\\.FileInfo|Diagnostics\\.Process|Web\\.Security)|"
     "\\bObjectDataProvider\\b|\\bTypeConfuseDelegate\\b|\\bTextFormattingRunProperties\\b",
     "aaeaaad/////|\\$type|objectdataprovider|typeconfusedelegate|textformattingrunproperties",
     OBS_START_NONE},
    {OBS_DESERIALIZATION, "java-json-gadget", 0.95, OBS_CONFIRM_PCRE,
     "[\"']@type[\"']\\s*:\\s*[\"'](?:com\\.sun\\.|org\\.apache\\.|com\\.alibaba\\.|"
     "java\\.lang\\.|java\\.net\\.|javax\\.|com\\.mchange\\.|org\\.springframework\\.|"
     "ch\\.qos\\.logback\\.|com\\.zaxxer\\.|br\\.com\\.|org\\.hibernate\\.)|"
     "\\[\\s*[\"'](?:com\\.sun\\.rowset\\.JdbcRowSetImpl|org\\.springframework\\.[\\w.]+|"
     "ch\\.qos\\.logback\\.[\\w.]+|com\\.zaxxer\\.hikari\\.[\\w.]+|"
     "org\\.apache\\.(?:xbean|commons|tomcat)\\.[\\w.]+|com\\.mchange\\.[\\w.]+)[\"']\\s*,",
     "@type|com\\.sun\\.|org\\.springframework|ch\\.qos|com\\.zaxxer|org\\.apache|com\\.mchange",
     OBS_START_NONE},
    {OBS_DESERIALIZATION, "code-injection", 0.85, OBS_CONFIRM_PCRE,
     "require\\s*\\(\\s*['\"\\x60]child_process['\"\\x60]\\s*\\)|process\\.mainModule|"
     "global\\.process\\.|\\bchild_process\\b.{0,40}\\b(?:exec|spawn)(?:Sync)?\\s*\\(|"
     "__import__\\s*\\(\\s*['\"](?:os|subprocess|pty|socket|commands)['\"]\\s*\\)|"
     "\\bFunction\\s*\\(\\s*['\"\\x60]\\s*return\\s+(?:process|this|global)|"
     "\\bprocess\\.binding\\s*\\(|\\beval\\s*\\(\\s*compile\\s*\\(|\\bvm\\.runIn(?:New|This)"
     "Context\\s*\\(",
     "child_process|mainmodule|global\\.process|__import__|function\\s*\\(|process\\.binding|vm\\."
     "runin|compile\\s*\\(",
     OBS_START_NONE},

    /* ---- XSS ---- */
    {OBS_XSS, "script-tag", 0.95, OBS_CONFIRM_PCRE, "<\\s*/?\\s*script\\b", "<\\s*/?\\s*script",
     OBS_START_NONE},
    {OBS_XSS, "event-handler", 0.9, OBS_CONFIRM_PCRE,
     "<[a-z][\\w:-]*(?:[\\s/]|\\x00)[^>]*?(?:\\b|/|\\x00)on[a-z]{3,30}\\s*=", "on[a-z]{3,30}\\s*=",
     OBS_START_NONE},
    {OBS_XSS, "js-uri", 0.9, OBS_CONFIRM_PCRE,
     "j\\s*a\\s*v\\s*a\\s*s\\s*c\\s*r\\s*i\\s*p\\s*t\\s*:\\s{0,2}[^\\s]{0,60}?(?:\\(|\\x60|"
     "&#|%28|=)|\\b(?:vb|live)script\\s*:",
     "r\\s*i\\s*p\\s*t\\s*:", OBS_START_NONE},
    {OBS_XSS, "dangerous-tag", 0.85, OBS_CONFIRM_PCRE,
     "<\\s*(?:iframe|frame|frameset|object|embed|applet|portal)\\b|"
     "<\\s*meta\\b[^>]*http-equiv\\s*=\\s*[\"']?refresh|<\\s*base\\b[^>]*href|"
     "<\\s*(?:link|import)\\b[^>]*(?:href|rel)\\s*=|<\\s*svg\\b[^>]*>\\s*<\\s*(?:script|animate|"
     "set|a\\b)",
     "<\\s*(?:iframe|frame|frameset|object|embed|applet|portal|meta|base|link|import|svg)",
     OBS_START_NONE},
    {OBS_XSS, "srcdoc-css", 0.85, OBS_CONFIRM_PCRE,
     "\\bsrcdoc\\s*=|expr(?:/\\*.{0,40}?\\*/"
     ")+ession\\s*\\(|\\bstyle\\s*=[^>]*(?:expression\\s*\\(|behavior\\s*:|-moz-binding|"
     "url\\s*\\(\\s*[\"']?\\s*javascript)|@import\\s+[\"']?javascript:",
     "srcdoc|expr|style|@import", OBS_START_NONE},
    {OBS_XSS, "js-context-break", 0.85, OBS_CONFIRM_PCRE,
     "['\"\\x60]\\s*[;,+*|&)}\\]-]+\\s*(?:alert|prompt|confirm|eval|print|fetch|import)[(\\x60]|"
     "\\$\\{\\s*(?:alert|prompt|confirm|eval|fetch)\\s*\\(|"
     "['\"\\x60]\\s*[;,+*|&)-]+\\s*(?:document|window|top|self|parent|this)\\s*[.\\[]",
     "(?:alert|prompt|confirm|eval|print|fetch|import)[(\\x60]|(?:document|window|top|self|parent|"
     "this)\\s*[.\\[]",
     OBS_START_NONE},
    {OBS_XSS, "data-uri", 0.85, OBS_CONFIRM_PCRE,
     "\\b(?:src|href|data|action|formaction)\\s*=\\s*[\"']?\\s*data:(?:text/html|image/svg\\+xml|"
     "application/x?html)",
     "data:", OBS_START_NONE},
    {OBS_XSS, "client-template", 0.85, OBS_CONFIRM_PCRE,
     "\\$eval\\s*\\(|\\bng-(?:app|on-\\w+|init)\\b|\\bx-on:\\w+|\\bv-html\\b|"
     "\\{\\{\\s*\\$on\\.constructor|\\{\\{\\s*constructor\\.constructor|\\{\\{\\s*toString\\(\\)\\."
     "constructor",
     "\\$eval|ng-|x-on:|v-html|\\$on\\.|tostring\\(\\)|constructor", OBS_START_NONE},
    {OBS_XSS, "attribute-injection", 0.85, OBS_CONFIRM_PCRE,
     "['\"\\s/]on(?:error|load|mouseover|mouseenter|focus|click|toggle|begin|animationstart|"
     "pointerover|start|blur|input|change|submit|keydown|keyup|wheel|transitionend|"
     "pageshow|hashchange|message|resize|scroll|unload)\\s*=\\s*[\"']?[^\\s\"'>]*(?:alert|prompt|"
     "confirm|eval|fetch|document|window|location|\\(|\\x60)",
     "on[a-z]{3,30}\\s*=", OBS_START_NONE},
    {OBS_XSS, "tag-break", 0.8, OBS_CONFIRM_PCRE,
     "[\"'][^<>]{0,20}>\\s*<\\s*(?:img|svg|iframe|body|a|div|details|video|audio|input|"
     "marquee|math|style|form|object|embed|isindex|x|xss|image|textarea|select|button)\\b",
     ">\\s*<", OBS_START_NONE},
    {OBS_XSS, "obfuscated-eval", 0.85, OBS_CONFIRM_PCRE,
     "\\beval\\s*\\(\\s*(?:atob|String\\.fromCharCode|unescape|decodeURI(?:Component)?|"
     "Buffer\\.from|location|name|window\\.name)|\\bsetTimeout\\s*\\(\\s*['\"\\x60]|"
     "String\\.fromCharCode\\s*\\(\\s*\\d+\\s*,\\s*\\d+|\\[\\s*['\"]constructor['\"]\\s*\\]",
     "eval|settimeout|fromcharcode|constructor", OBS_START_NONE},
};

const size_t obs_rule_count = sizeof obs_rules / sizeof obs_rules[0];
