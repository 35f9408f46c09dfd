#include "hub/parse.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace hfaudit::hub;
using hfaudit::hub::test::read_sample;

BOOST_AUTO_TEST_SUITE(parse_test)

BOOST_AUTO_TEST_CASE(recorded_default_model_info_parses) {
  auto info =
      parse_model_info(read_sample("model-info_google-bert_bert-base-uncased_default.json"));
  BOOST_TEST_REQUIRE(info.ok());
  BOOST_TEST(info->internal_id == "621ffdc036468d709f174338");
  BOOST_TEST(info->id == "google-bert/bert-base-uncased");
  BOOST_TEST(info->author == "google-bert");
  BOOST_TEST(info->sha == "86b5e0934494bd15c9632b12f734a8a67f723594");
  BOOST_TEST(info->last_modified.text == "2024-02-19T11:06:12.000Z");
  BOOST_TEST(info->last_modified.unix_seconds.value() == 1708340772);
  BOOST_TEST(info->created_at.unix_seconds.value() == 1646263744);
  BOOST_TEST(info->is_private.value() == false);
  BOOST_TEST(info->disabled.value() == false);
  BOOST_TEST((info->gated.value() == Gated::no));
  BOOST_TEST(info->downloads.value() == 72376843u);
  BOOST_TEST(info->likes.value() == 2065u);
  BOOST_TEST(info->pipeline_tag == "fill-mask");
  BOOST_TEST(info->library_name == "transformers");
  BOOST_TEST(info->tags.size() == 19u);
  BOOST_TEST(info->tags.back() == "region:us");
  BOOST_TEST(info->card_data["license"] == "apache-2.0");
  BOOST_TEST(info->config["model_type"] == "bert");
  BOOST_TEST(!info->has_model_index());  // "model-index": null
  BOOST_TEST(!info->has_base_models());
  BOOST_TEST(!info->security_repo_status.has_value());
  BOOST_TEST_REQUIRE(info->siblings.has_value());
  BOOST_TEST(info->siblings->size() == 16u);
  BOOST_TEST(info->siblings->front().rfilename == ".gitattributes");
  BOOST_TEST(!info->siblings->front().blob_id.has_value());  // no blobs=true
  BOOST_TEST_REQUIRE(info->safetensors.has_value());
  BOOST_TEST(info->safetensors->parameters.at("F32") == 110106428u);
  BOOST_TEST(info->safetensors->total.value() == 110106428u);
}

BOOST_AUTO_TEST_CASE(recorded_blobs_model_info_has_sibling_lfs_metadata) {
  auto info = parse_model_info(read_sample("model-info_stabilityai_sdxl-turbo_blobs.json"));
  BOOST_TEST_REQUIRE(info.ok());
  BOOST_TEST(info->id == "stabilityai/sdxl-turbo");
  BOOST_TEST(info->config["diffusers"]["class_name"] == "StableDiffusionXLPipeline");
  BOOST_TEST_REQUIRE(info->siblings.has_value());
  const Sibling* fp16 = nullptr;
  const Sibling* index = nullptr;
  std::size_t lfs_count = 0;
  for (const auto& s : *info->siblings) {
    BOOST_TEST(s.blob_id.has_value());
    BOOST_TEST(s.size.has_value());
    if (s.lfs) {
      ++lfs_count;
      // pointerSize = 125 + digits(size) on every recorded LFS sibling.
      BOOST_TEST(s.lfs->pointer_size.value() == 125 + std::to_string(s.lfs->size).size());
      BOOST_TEST(s.lfs->sha256.size() == 64u);
    }
    if (s.rfilename == "sd_xl_turbo_1.0_fp16.safetensors") fp16 = &s;
    if (s.rfilename == "model_index.json") index = &s;
  }
  BOOST_TEST(lfs_count > 0u);
  BOOST_TEST_REQUIRE(fp16);
  BOOST_TEST(fp16->blob_id.value() == "bc5009cfdd6444d8d9f8557efca5b582054ec77d");
  BOOST_TEST(fp16->size.value() == 6938081905u);
  BOOST_TEST(fp16->lfs->sha256 ==
             "e869ac7d6942cb327d68d5ed83a40447aadf20e0c3358d98b2cc9e270db0da26");
  BOOST_TEST(fp16->lfs->pointer_size.value() == 135u);
  BOOST_TEST_REQUIRE(index);
  BOOST_TEST(!index->lfs.has_value());
  BOOST_TEST(index->size.value() == 685u);
}

BOOST_AUTO_TEST_CASE(recorded_tree_parses) {
  auto tree = parse_tree(read_sample("tree_google-bert_bert-base-uncased_dd4bc8b.json"));
  BOOST_TEST_REQUIRE(tree.ok());
  BOOST_TEST_REQUIRE(tree->size() == 5u);
  const TreeEntry& h5 = (*tree)[3];
  BOOST_TEST(h5.path == "tf_model.h5");
  BOOST_TEST((h5.type == EntryType::file));
  BOOST_TEST(h5.oid == "9eb98c817f04b051b3bcca591bcd4e03cec88018");
  BOOST_TEST(h5.size.value() == 536063208u);
  BOOST_TEST(h5.lfs->oid == "a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2");
  BOOST_TEST(h5.lfs->pointer_size.value() == 134u);
  BOOST_TEST(h5.xet_hash.value() ==
             "879c5715c18a0b7f051dd33f70f0a5c8dd1522e0a43f6f75520f16167f29279b");
  BOOST_TEST(!h5.last_commit.has_value());
  BOOST_TEST(!h5.security.has_value());
  BOOST_TEST(!(*tree)[1].lfs.has_value());
  BOOST_TEST(!(*tree)[1].xet_hash.has_value());
}

BOOST_AUTO_TEST_CASE(masked_xet_hash_is_absent) {
  const std::string masked(64, '*');
  auto tree =
      parse_tree(R"([{"type":"file","path":"a.bin","oid":"x","size":1,"xetHash":")" + masked +
                 R"("},{"type":"directory","path":"d","oid":"y","xetHash":null}])");
  BOOST_TEST_REQUIRE(tree.ok());
  BOOST_TEST(!(*tree)[0].xet_hash.has_value());
  BOOST_TEST(!(*tree)[1].xet_hash.has_value());
  BOOST_TEST(((*tree)[1].type == EntryType::directory));
}

BOOST_AUTO_TEST_CASE(current_security_file_status_shape) {
  auto tree = parse_tree(R"([{"type":"file","path":"model.pt","oid":"o","size":10,
    "lastCommit":{"id":"dd4bc8b21efa05ec961e3efc4ee5e3832a3679c7","title":"Update","date":"2019-09-23T19:48:44.000Z"},
    "securityFileStatus":{"status":"suspicious",
      "avScan":{"status":"safe","message":"no virus"},
      "pickleImportScan":{"status":"suspicious","version":"0.0.32","pickleImports":[
        {"module":"torch","name":"FloatStorage","safety":"innocuous"},
        {"module":"os","name":"system","safety":"dangerous"},
        {"module":"x","name":"y","safety":"weird"}]},
      "protectAiScan":{"status":"caution","message":"m","reportLink":"https://r","reportLabel":"L"},
      "jFrogScan":{"status":"unscanned"},
      "virusTotalScan":{"status":"queued"},
      "futureField":42}}])");
  BOOST_TEST_REQUIRE(tree.ok());
  const TreeEntry& e = tree->front();
  BOOST_TEST(e.last_commit->id == "dd4bc8b21efa05ec961e3efc4ee5e3832a3679c7");
  BOOST_TEST(e.last_commit->date.unix_seconds.value() == 1569268124);
  BOOST_TEST_REQUIRE(e.security.has_value());
  const auto& s = *e.security;
  BOOST_TEST((s.shape == SecurityShape::current));
  BOOST_TEST((s.status == ScanStatus::suspicious));
  BOOST_TEST_REQUIRE(s.scanners.size() == 5u);
  // Sorted by key: avScan, jFrogScan, pickleImportScan, protectAiScan, virusTotalScan.
  BOOST_TEST(s.scanners[0].scanner == "avScan");
  BOOST_TEST((s.scanners[0].status == ScanStatus::safe));
  BOOST_TEST(s.scanners[0].message == "no virus");
  BOOST_TEST((s.scanners[1].status == ScanStatus::unscanned));
  BOOST_TEST(s.scanners[2].version == "0.0.32");
  BOOST_TEST(s.scanners[3].report_link == "https://r");
  BOOST_TEST(s.scanners[3].report_label == "L");
  BOOST_TEST((s.scanners[3].status == ScanStatus::caution));
  BOOST_TEST(s.scanners[4].scanner == "virusTotalScan");
  BOOST_TEST((s.scanners[4].status == ScanStatus::queued));
  BOOST_TEST_REQUIRE(s.pickle_imports.size() == 3u);
  BOOST_TEST(s.pickle_imports[1].module == "os");
  BOOST_TEST((s.pickle_imports[1].safety == PickleSafety::dangerous));
  BOOST_TEST((s.pickle_imports[2].safety == PickleSafety::unknown));
}

BOOST_AUTO_TEST_CASE(legacy_security_shape_is_normalised) {
  struct Row {
    const char* security;
    ScanStatus expected;
  };
  const Row rows[] = {
      {R"({"blobId":"b","name":"m.bin","safe":true,"avScan":{"virusFound":false,"virusNames":[]},
          "pickleImportScan":{"highestSafetyLevel":"innocuous","imports":[{"module":"torch","name":"FloatStorage","safety":"innocuous"}]}})",
       ScanStatus::safe},
      {R"({"safe":false,"avScan":{"virusFound":true,"virusNames":["Eicar"]}})", ScanStatus::unsafe},
      {R"({"safe":false,"pickleImportScan":{"highestSafetyLevel":"dangerous","imports":[{"module":"os","name":"system","safety":"dangerous"}]}})",
       ScanStatus::unsafe},
      {R"({"safe":false,"pickleImportScan":{"highestSafetyLevel":"suspicious","imports":[]}})",
       ScanStatus::suspicious},
      {R"({"safe":false})", ScanStatus::caution},
      {R"({"name":"x"})", ScanStatus::unknown},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.security) {
      auto tree =
          parse_tree(std::string(R"([{"type":"file","path":"m.bin","oid":"o","security":)") +
                     row.security + "}]");
      BOOST_TEST_REQUIRE(tree.ok());
      BOOST_TEST_REQUIRE(tree->front().security.has_value());
      BOOST_TEST((tree->front().security->shape == SecurityShape::legacy));
      BOOST_TEST((tree->front().security->status == row.expected));
    }
  }
  auto virus = parse_tree(
      R"([{"type":"file","path":"m","oid":"o","security":{"safe":false,"avScan":{"virusFound":true,"virusNames":["Eicar"]}}}])");
  BOOST_TEST(virus->front().security->virus_names.front() == "Eicar");
  auto pickle = parse_tree(
      R"([{"type":"file","path":"m","oid":"o","security":{"safe":false,"pickleImportScan":{"highestSafetyLevel":"dangerous","imports":[{"module":"os","name":"system","safety":"dangerous"}]}}}])");
  BOOST_TEST(pickle->front().security->pickle_imports.front().name == "system");
}

BOOST_AUTO_TEST_CASE(current_shape_wins_over_legacy) {
  auto tree = parse_tree(R"([{"type":"file","path":"m","oid":"o","security":{"safe":true},
                              "securityFileStatus":{"status":"unsafe"}}])");
  BOOST_TEST((tree->front().security->shape == SecurityShape::current));
  BOOST_TEST((tree->front().security->status == ScanStatus::unsafe));
}

BOOST_AUTO_TEST_CASE(gated_false_auto_and_manual) {
  const std::pair<const char*, std::optional<Gated>> rows[] = {
      {R"({"gated":false})", Gated::no},        {R"({"gated":"auto"})", Gated::automatic},
      {R"({"gated":"manual"})", Gated::manual}, {R"({"gated":"something-new"})", Gated::unknown},
      {R"({"gated":null})", std::nullopt},      {R"({})", std::nullopt},
  };
  for (const auto& [json, expected] : rows) {
    auto info = parse_model_info(json);
    BOOST_TEST_REQUIRE(info.ok());
    BOOST_TEST((info->gated == expected), json);
  }
  BOOST_TEST(parse_model_info(R"({"gated":"manual"})")->gated_text == "manual");
}

BOOST_AUTO_TEST_CASE(unknown_missing_null_and_mistyped_keys_are_tolerated) {
  auto info = parse_model_info(R"({"id":"a/b","sha":null,"downloads":"many","likes":-3,
      "tags":"single","siblings":[{"rfilename":"x","size":null,"lfs":null},7],
      "securityRepoStatus":{"scansDone":true,"filesWithIssues":[{"path":"p.bin","level":"unsafe"},"junk"]},
      "model-index":[{"name":"m"}],"baseModels":{"models":[{"id":"x/y"}],"relation":"finetune"},
      "evalResults":[],"brandNewField":{"nested":[1,2,3]},"lastModified":"not a date"})");
  BOOST_TEST_REQUIRE(info.ok());
  BOOST_TEST(info->sha.empty());
  BOOST_TEST(!info->downloads.has_value());
  BOOST_TEST(!info->likes.has_value());
  BOOST_TEST(info->tags.size() == 1u);
  BOOST_TEST(info->siblings->size() == 1u);
  BOOST_TEST(info->security_repo_status->scans_done.value());
  BOOST_TEST(info->security_repo_status->files_with_issues.size() == 1u);
  BOOST_TEST((info->security_repo_status->files_with_issues[0].level == ScanStatus::unsafe));
  BOOST_TEST(info->has_model_index());
  BOOST_TEST(info->has_base_models());
  BOOST_TEST(info->has_eval_results());
  BOOST_TEST(info->last_modified.text == "not a date");
  BOOST_TEST(!info->last_modified.unix_seconds.has_value());
  BOOST_TEST(parse_model_info(R"({"modelId":"legacy/id"})")->id == "legacy/id");
}

BOOST_AUTO_TEST_CASE(bad_json_is_a_bad_response_not_an_exception) {
  for (const char* body : {"", "<html>502</html>", "{\"id\":", "[1,2", "\xff\xfe"}) {
    auto info = parse_model_info(body);
    BOOST_TEST_REQUIRE(!info.ok());
    BOOST_TEST((info.error().kind == HubErrorKind::bad_response));
  }
  BOOST_TEST(!parse_model_info("[]").ok());
  BOOST_TEST(!parse_tree("{}").ok());
  BOOST_TEST(!parse_refs("[]").ok());
  BOOST_TEST(!parse_model_list("{}").ok());
  BOOST_TEST(parse_tree("[]")->empty());
}

BOOST_AUTO_TEST_CASE(refs_and_model_list_parse) {
  auto refs = parse_refs(
      R"({"branches":[{"name":"main","ref":"refs/heads/main","targetCommit":"86b5e0934494bd15c9632b12f734a8a67f723594"}],
    "converts":[{"name":"refs/convert/parquet","ref":"refs/convert/parquet","targetCommit":"c"}],
    "tags":[{"name":"v1","ref":"refs/tags/v1","targetCommit":"t"}],
    "pullRequests":[{"name":"refs/pr/1","ref":"refs/pr/1","targetCommit":"p"}]})");
  BOOST_TEST_REQUIRE(refs.ok());
  BOOST_TEST(refs->branches.front().target_commit == "86b5e0934494bd15c9632b12f734a8a67f723594");
  BOOST_TEST(refs->converts.front().name == "refs/convert/parquet");
  BOOST_TEST(refs->tags.front().ref == "refs/tags/v1");
  BOOST_TEST(refs->pull_requests.front().name == "refs/pr/1");

  auto list = parse_model_list(R"([{"_id":"1","id":"org/a","likes":1,"private":false,"gated":"auto",
     "sha":"s","lastModified":"2024-01-01T00:00:00.000Z","siblings":[{"rfilename":"config.json"}]},
     {"id":"org/b"}])");
  BOOST_TEST_REQUIRE(list.ok());
  BOOST_TEST(list->size() == 2u);
  BOOST_TEST(((*list)[0].gated == Gated::automatic));
  BOOST_TEST((*list)[0].siblings->front().rfilename == "config.json");
  BOOST_TEST((*list)[0].last_modified.unix_seconds.value() == 1704067200);
  BOOST_TEST(!(*list)[1].siblings.has_value());
}

BOOST_AUTO_TEST_CASE(dates_parse_to_unix_time) {
  BOOST_TEST(parse_iso8601("1970-01-01T00:00:00Z").value() == 0);
  BOOST_TEST(parse_iso8601("2022-03-02T23:29:04.000Z").value() == 1646263744);
  BOOST_TEST(parse_iso8601("2024-02-19T12:06:12+01:00").value() == 1708340772);
  BOOST_TEST(parse_iso8601("2000-02-29T00:00:00.123456Z").value() == 951782400);
  BOOST_TEST(!parse_iso8601("2024-02-19T11:06:12").has_value());  // no zone
  BOOST_TEST(!parse_iso8601("2024-13-01T00:00:00Z").has_value());
  BOOST_TEST(!parse_iso8601("2024-02-19T11:06:12.Z").has_value());
  BOOST_TEST(!parse_iso8601("").has_value());
  BOOST_TEST(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").value() == 1445412480);
  BOOST_TEST(!parse_http_date("21 Oct 2015").has_value());
}

BOOST_AUTO_TEST_CASE(header_helpers) {
  BOOST_TEST(
      find_link({R"(<https://h/api/models?cursor=abc&limit=2>; rel="next")"}, "next").value() ==
      "https://h/api/models?cursor=abc&limit=2");
  BOOST_TEST(!find_link({R"(<https://h/x>; rel="prev")"}, "next").has_value());
  BOOST_TEST(!find_link({}, "next").has_value());
  const std::vector<std::string> xet = {
      R"(<https://huggingface.co/api/models/o/n/xet-read-token/abc>; rel="xet-auth", <https://cas-server.xethub.hf.co/v1/reconstructions/h>; rel="xet-reconstruction-info")"};
  BOOST_TEST(find_link(xet, "xet-auth").value() ==
             "https://huggingface.co/api/models/o/n/xet-read-token/abc");
  BOOST_TEST(find_link(xet, "xet-reconstruction-info").value() ==
             "https://cas-server.xethub.hf.co/v1/reconstructions/h");
  BOOST_TEST(find_link({"<a>; rel=next"}, "next").value() == "a");

  BOOST_TEST(normalize_etag(R"("a16a55fda99d2f2e7b69cce5cf93ff4ad3049930")") ==
             "a16a55fda99d2f2e7b69cce5cf93ff4ad3049930");
  BOOST_TEST(normalize_etag(R"(W/"abc")") == "abc");
  BOOST_TEST(normalize_etag("abc") == "abc");

  BOOST_TEST(parse_content_range_total("bytes 100-199/1000").value() == 1000u);
  BOOST_TEST(parse_content_range_start("bytes 100-199/1000").value() == 100u);
  BOOST_TEST(!parse_content_range_total("bytes 0-1/*").has_value());

  auto limit = parse_rate_limit(R"("api";r=0;t=55)").value();
  BOOST_TEST(limit.policy == "api");
  BOOST_TEST(limit.remaining.value() == 0u);
  BOOST_TEST(limit.reset_seconds.value() == 55u);
  BOOST_TEST(!parse_rate_limit("garbage").has_value());

  BOOST_TEST(parse_retry_after("7", 0).value().count() == 7);
  BOOST_TEST(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30).value().count() ==
             30);
  BOOST_TEST(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 30).value().count() ==
             0);
  BOOST_TEST(!parse_retry_after("soon", 0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
