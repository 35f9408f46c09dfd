#include <boost/test/unit_test.hpp>
#include <chrono>

#include "scan/format_scanners.hpp"
#include "structured_test_util.hpp"

using namespace hfaudit::scan;
using namespace hfaudit::scan::test;

namespace {

FileReport check(std::string_view tmpl) {
  FileReport report;
  report.path = "tokenizer_config.json";
  ScanLimits limits;
  ScanContext ctx(report, limits);
  check_chat_template(ctx, tmpl, 0, "chat_template");
  return report;
}

// Real-shaped templates from popular models; none may be flagged.
const char* const k_llama3 =
    R"T({{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}{{- ", " }}{%- endif %}
            {%- endfor %}
            {{- ")" }}
        {%- else %}
            {{- '{"name": "' + tool_call.name + '", "parameters": ' + tool_call.arguments | tojson + '}' }}
        {%- endif %}
        {{- "<|eom_id|>" if builtin_tools is defined else "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %})T";

const char* const k_chatml_qwen =
    R"T({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %})T";

const char* const k_mistral =
    R"T({%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}{%- for message in loop_messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}{%- if message['role'] == 'user' %}{%- if loop.first and system_message is defined %}{{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}{%- else %}{{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}{%- endif %}{%- endfor %})T";

const char* const k_deepseek =
    R"T({% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content.strip() + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}{# the system prompt may say: import your files, never call __globals__ #}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\n'}}{% endif %})T";

const char* const k_gemma =
    R"T({{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}Please import nothing; the os. module is prose here.)T";

bool flagged(const FileReport& r, Severity min) {
  return count_at_least(r, min, "template.injection") > 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chat_template_test)

BOOST_AUTO_TEST_CASE(real_templates_are_not_flagged) {
  for (const char* tmpl : {k_llama3, k_chatml_qwen, k_mistral, k_deepseek, k_gemma}) {
    const FileReport r = check(tmpl);
    BOOST_TEST(r.findings.empty(), dump(r));
  }
}

BOOST_AUTO_TEST_CASE(cve_2024_34359_payload_is_high) {
  // The published llama-cpp-python proof of concept.
  const FileReport r = check(
      R"({% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen("touch /tmp/retr0reg")}}{%endif%}{% endfor %})");
  BOOST_TEST(flagged(r, Severity::high), dump(r));
  const Finding* f = find_rule(r, "template.injection");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->message.find("chat_template") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_dunder_is_high) {
  for (const char* d : {"__class__", "__base__", "__subclasses__", "__globals__", "__builtins__",
                        "__init__", "__import__", "__mro__", "__getattribute__"}) {
    const FileReport r = check(std::string("{{ messages.") + d + " }}");
    BOOST_TEST(has_rule(r, "template.injection", Severity::high), d << "\n" << dump(r));
  }
}

BOOST_AUTO_TEST_CASE(global_chains_are_flagged) {
  for (const char* t :
       {"{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ joiner.__init__.__globals__ }}", "{{ namespace.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}", "{{ request.application.__globals__ }}",
        "{{ config.__class__.__init__.__globals__['os'] }}",
        "{{ lipsum | attr('__globals__') }}"}) {
    const FileReport r = check(t);
    BOOST_TEST(has_rule(r, "template.injection", Severity::high), t << "\n" << dump(r));
  }
  // Plain attribute reads on a global are suspicious, not proof.
  const FileReport r = check("{{ config.items() }}");
  BOOST_TEST(has_rule(r, "template.injection", Severity::medium), dump(r));
  BOOST_TEST(!has_rule(r, "template.injection", Severity::high), dump(r));
}

BOOST_AUTO_TEST_CASE(attr_filter_building_names_is_high) {
  for (const char* t :
       {"{{ ()|attr('__cla' ~ 'ss__') }}", "{{ ()|attr(['_'*2, 'class', '_'*2]|join) }}",
        "{{ ()|attr('%c%cclass%c%c'|format(95,95,95,95)) }}",
        "{{ ()|attr(x|string|replace('a','_')) }}"}) {
    const FileReport r = check(t);
    BOOST_TEST(has_rule(r, "template.injection", Severity::high), t << "\n" << dump(r));
  }
  const FileReport r = check("{{ x|attr(y) }}");
  BOOST_TEST(has_rule(r, "template.injection", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(string_escapes_are_high) {
  for (const char* t :
       {R"({{ ()['\x5f\x5fclass\x5f\x5f'] }})", R"({{ ()['\u005f\u005fclass'] }})",
        R"({{ x[ '\137\137class\137\137' ] }})", R"({{ x['\N{LOW LINE}\N{LOW LINE}class'] }})"}) {
    const FileReport r = check(t);
    BOOST_TEST(has_rule(r, "template.injection", Severity::high), t << "\n" << dump(r));
  }
}

BOOST_AUTO_TEST_CASE(dangerous_names_are_flagged) {
  struct Case {
    const char* tmpl;
    Severity severity;
  };
  for (const Case& c :
       {Case{"{% import 'macros.j2' as m %}", Severity::medium},
        Case{"{{ x.popen('id') }}", Severity::high}, Case{"{{ os.popen('id') }}", Severity::high},
        Case{"{{ os.path }}", Severity::medium}, Case{"{{ subprocess }}", Severity::high},
        Case{"{{ eval('1') }}", Severity::high}, Case{"{{ exec(code) }}", Severity::high},
        Case{"{{ x.system('id') }}", Severity::high}, Case{"{{ x['popen'] }}", Severity::medium}}) {
    const FileReport r = check(c.tmpl);
    BOOST_TEST(has_rule(r, "template.injection", c.severity), c.tmpl << "\n" << dump(r));
  }
}

BOOST_AUTO_TEST_CASE(end_markers_inside_strings_do_not_hide_code) {
  const FileReport r = check("{{ '}}' ~ lipsum.__globals__ }}");
  BOOST_TEST(has_rule(r, "template.injection", Severity::high), dump(r));
  // Comments and raw blocks are not evaluated.
  const FileReport c = check("{# lipsum.__globals__ #}{% raw %}{{ x.popen }}{% endraw %}");
  BOOST_TEST(count_at_least(c, Severity::high) == 0u, dump(c));
}

BOOST_AUTO_TEST_CASE(tokenizer_config_templates_are_checked_through_the_engine) {
  const std::string json =
      R"({"chat_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"})";
  FileReport r = scan_bytes(json, "tokenizer_config.json");
  BOOST_TEST(has_rule(r, "template.injection", Severity::high), dump(r));
  const std::string benign =
      R"({"chat_template": "{% for message in messages %}{{ message['content'] }}{% endfor %}"})";
  r = scan_bytes(benign, "tokenizer_config.json");
  BOOST_TEST(count_at_least(r, Severity::medium) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(unterminated_and_odd_input_does_not_crash) {
  for (const char* t : {"{{", "{%", "{#", "{{ 'abc", "{{ x[", "{% raw %}", "\\", "{{ '\\x5' }}",
                        "{{ '\\N{LOW' }}", "{{ ((((( }}", "}}}}", "{{ x|attr("}) {
    (void)check(t);
  }
  const std::string full = k_llama3;
  for (size_t n = 0; n < full.size(); n += 7) (void)check(full.substr(0, n));
}

BOOST_AUTO_TEST_CASE(nested_groups_are_checked_in_linear_time) {
  // Regression (fixtures/scan/regressions/chat_template_nested_groups.json.gz):
  // every global root or |attr( rescanned and copied the rest of the block, so
  // 5 000 nested `lipsum[` took 50 s under ASan and 20 000 took minutes.
  std::string roots = "{{ ";
  std::string filters = "{{ ";
  for (int i = 0; i < 20'000; ++i) {
    roots += "lipsum[";
    filters += "x|attr(";
  }
  const auto start = std::chrono::steady_clock::now();
  const FileReport r = check(roots + " }}");
  const FileReport f = check(filters + "'__class__' }}");
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  BOOST_TEST(has_rule(r, "template.injection", Severity::medium), dump(r));
  BOOST_TEST(has_rule(f, "template.injection", Severity::high), dump(f));
  BOOST_TEST(seconds.count() < 60.0);
  // Subjects stay short however long the chain.
  for (const auto& finding : r.findings) BOOST_TEST(finding.subject.size() <= 123u);
}

BOOST_AUTO_TEST_SUITE_END()
