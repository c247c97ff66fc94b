#include "videogate/jobs/ids.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace videogate::jobs {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

id_fields sample() {
  return id_fields{"vendor-a", key_fingerprint("sk-test-key-1"), "task_01HZX3Q8Y2", "team-blue"};
}

// Test-side decoder, to tamper with the token bytes rather than the characters.
std::string b64url_decode(std::string_view s) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    acc = (acc << 6) | static_cast<unsigned>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string b64url_encode(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

// --- what holds for both kinds of id (videos, characters) -------------------------------------

/// One kind of sealed id: its prefix and the codec's pair of calls for it.
struct id_kind {
  const char* name;
  std::string_view prefix;
  std::optional<std::string> (id_codec::*seal)(const id_fields&) const;
  std::optional<id_fields> (id_codec::*open)(std::string_view) const;
};

class IdKinds : public ::testing::TestWithParam<id_kind> {
 protected:
  std::optional<std::string> seal(const id_codec& c, const id_fields& f) const { return (c.*GetParam().seal)(f); }
  std::optional<id_fields> open(const id_codec& c, std::string_view id) const { return (c.*GetParam().open)(id); }
  std::string prefix() const { return std::string(GetParam().prefix); }
};

INSTANTIATE_TEST_SUITE_P(Ids, IdKinds,
                         ::testing::Values(id_kind{"video", "video_", &id_codec::seal, &id_codec::open},
                                           id_kind{"character", "char_", &id_codec::seal_character,
                                                   &id_codec::open_character}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_P(IdKinds, RoundTrip) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const auto id = seal(codec, sample());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->rfind(prefix(), 0), 0u);
  EXPECT_LE(id->size(), 200u);
  for (char c : id->substr(prefix().size())) EXPECT_NE(alphabet.find(c), std::string_view::npos) << c;
  const auto back = open(codec, *id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, sample());
}

TEST_P(IdKinds, RoundTripEdgeFields) {
  const id_codec codec("secret-secret-secret");
  for (const id_fields& f : {id_fields{"", "", "", ""}, id_fields{"u", "fp", "x", ""},
                             id_fields{"a", "b", std::string("c\0d\xff/+=", 7), "ü"}}) {
    const auto id = seal(codec, f);
    ASSERT_TRUE(id.has_value());
    const auto back = open(codec, *id);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, f);
  }
}

TEST_P(IdKinds, SealIsDeterministic) {
  const id_codec codec("s3cr3t-s3cr3t-s3cr3t");
  EXPECT_EQ(seal(codec, sample()), seal(codec, sample()));
}

TEST_P(IdKinds, EveryCharTamperRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const std::string id = *seal(codec, sample());
  int tried = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    for (char c : alphabet) {
      if (c == id[i]) continue;
      std::string t = id;
      t[i] = c;
      EXPECT_FALSE(open(codec, t).has_value()) << "position " << i << " char " << c;
      ++tried;
    }
    // Characters outside the alphabet too.
    for (char c : std::string_view("=+/. \0\x80", 8)) {
      std::string t = id;
      t[i] = c;
      EXPECT_FALSE(open(codec, t).has_value()) << "position " << i;
    }
  }
  EXPECT_GT(tried, 64 * 40);
}

TEST_P(IdKinds, EveryBitFlipOfTheTokenRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const std::string id = *seal(codec, sample());
  const std::string token = b64url_decode(id.substr(prefix().size()));
  ASSERT_EQ(prefix() + b64url_encode(token), id);  // the test codec agrees
  for (std::size_t byte = 0; byte < token.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = token;
      t[byte] = static_cast<char>(t[byte] ^ (1 << bit));
      EXPECT_FALSE(open(codec, prefix() + b64url_encode(t)).has_value()) << byte << ":" << bit;
    }
  }
}

TEST_P(IdKinds, TruncationAndExtensionRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const std::string id = *seal(codec, sample());
  for (std::size_t n = 0; n < id.size(); ++n) EXPECT_FALSE(open(codec, id.substr(0, n)).has_value()) << n;
  for (char c : alphabet) EXPECT_FALSE(open(codec, id + c).has_value()) << c;
  // Appending bytes to the token (after the tag) must fail too.
  const std::string token = b64url_decode(id.substr(prefix().size()));
  EXPECT_FALSE(open(codec, prefix() + b64url_encode(token + '\0')).has_value());
  EXPECT_FALSE(open(codec, prefix() + b64url_encode(token + "xyz")).has_value());
}

TEST_P(IdKinds, OtherSecretRejected) {
  const id_codec a("secret-a-secret-a-secret-a");
  const id_codec b("secret-b-secret-b-secret-b");
  const auto id = seal(a, sample());
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(open(a, *id).has_value());
  EXPECT_FALSE(open(b, *id).has_value());
  EXPECT_NE(seal(a, sample()), seal(b, sample()));
}

// --- video ids ----------------------------------------------------------------------------

TEST(Ids, OtherClientGivesDistinctIds) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  id_fields mine = sample();
  id_fields theirs = sample();
  theirs.client = "team-red";
  const auto a = codec.seal(mine);
  const auto b = codec.seal(theirs);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(codec.open(*a)->client, "team-blue");
  EXPECT_EQ(codec.open(*b)->client, "team-red");
}

TEST(Ids, FieldBoundariesAreUnambiguous) {
  // Same concatenation, different splits: length prefixes keep them apart.
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const auto a = codec.seal({"ab", "c", "d", "e"});
  const auto b = codec.seal({"a", "bc", "d", "e"});
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(codec.open(*b)->upstream, "a");
}

TEST(Ids, OverLengthRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  id_fields f = sample();
  f.upstream_id = std::string(256, 'x');  // above one length byte
  EXPECT_FALSE(codec.seal(f).has_value());
  f.upstream_id = std::string(255, 'x');  // fits the byte but not 200 chars
  EXPECT_FALSE(codec.seal(f).has_value());

  // The 200-char ceiling: token = 1 + 4 + payload + 16 bytes; 145 bytes is 194 chars.
  id_fields g{"", "", "", ""};
  g.upstream_id = std::string(145 - 21, 'y');
  const auto at_limit = codec.seal(g);
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_EQ(at_limit->size(), 200u);
  EXPECT_TRUE(codec.open(*at_limit).has_value());
  g.upstream_id.push_back('y');
  EXPECT_FALSE(codec.seal(g).has_value());
}

TEST(Ids, GarbageRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  for (const std::string& s :
       {std::string(), std::string("video_"), std::string("video"), std::string("vid_abc"),
        std::string("video_AAAA"), std::string("video_!!!!"), std::string("video_A"),
        std::string("video_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        std::string("VIDEO_") + codec.seal(sample())->substr(6), std::string("video_") + std::string(300, 'A'),
        std::string("video_AQ=="), std::string("task_01HZX3Q8Y2"), std::string("video_\0\0\0\0", 10),
        std::string(" ") + *codec.seal(sample()), *codec.seal(sample()) + "\n"}) {
    EXPECT_FALSE(codec.open(s).has_value()) << s;
  }
}

TEST(Ids, WrongVersionRejectedEvenWithValidLayout) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  std::string token = b64url_decode(codec.seal(sample())->substr(6));
  token[0] = 2;
  EXPECT_FALSE(codec.open("video_" + b64url_encode(token)).has_value());
}

TEST(Ids, EmptySecretRefused) { EXPECT_THROW(id_codec(""), std::invalid_argument); }

// --- character ids ------------------------------------------------------------------------

TEST(IdsCharacter, TheTokenIsVersionTwoUnderTheSameLayout) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const std::string video = b64url_decode(codec.seal(sample())->substr(6));
  const std::string character = b64url_decode(codec.seal_character(sample())->substr(5));
  ASSERT_EQ("char_" + b64url_encode(character), *codec.seal_character(sample()));  // the test codec agrees
  ASSERT_EQ(video.size(), character.size());
  EXPECT_EQ(static_cast<unsigned char>(video[0]), 1u);
  EXPECT_EQ(static_cast<unsigned char>(character[0]), 2u);
  const std::size_t tag = 16;
  EXPECT_EQ(video.substr(1, video.size() - 1 - tag), character.substr(1, character.size() - 1 - tag)) << "same fields";
  EXPECT_NE(video.substr(video.size() - tag), character.substr(character.size() - tag)) << "the version is signed";
}

TEST(IdsCharacter, NeitherKindOpensAsTheOther) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  const std::string video = *codec.seal(sample());
  const std::string character = *codec.seal_character(sample());
  EXPECT_FALSE(codec.open(character).has_value());
  EXPECT_FALSE(codec.open_character(video).has_value());
  // Relabelled: the prefix alone does not make the kind.
  EXPECT_FALSE(codec.open("video_" + character.substr(5)).has_value());
  EXPECT_FALSE(codec.open_character("char_" + video.substr(6)).has_value());
  // Nor does the version byte: the tag covers it.
  std::string as_video = b64url_decode(character.substr(5));
  as_video[0] = 1;
  EXPECT_FALSE(codec.open("video_" + b64url_encode(as_video)).has_value());
  EXPECT_FALSE(codec.open_character("char_" + b64url_encode(as_video)).has_value());
  std::string as_character = b64url_decode(video.substr(6));
  as_character[0] = 2;
  EXPECT_FALSE(codec.open_character("char_" + b64url_encode(as_character)).has_value());
  EXPECT_FALSE(codec.open("video_" + b64url_encode(as_character)).has_value());
  // The originals still open as what they are.
  EXPECT_TRUE(codec.open(video).has_value());
  EXPECT_TRUE(codec.open_character(character).has_value());
}

TEST(IdsCharacter, OverLengthAndGarbageRejected) {
  const id_codec codec("0123456789abcdef0123456789abcdef");
  id_fields f = sample();
  f.upstream_id = std::string(256, 'x');
  EXPECT_FALSE(codec.seal_character(f).has_value());
  f.upstream_id = std::string(255, 'x');
  EXPECT_FALSE(codec.seal_character(f).has_value());
  const std::string id = *codec.seal_character(sample());
  for (const std::string& s : {std::string(), std::string("char_"), std::string("char"), std::string("char_AAAA"),
                               std::string("char_!!!!"), std::string("CHAR_") + id.substr(5), std::string("chr_") + id.substr(5),
                               std::string("char_") + std::string(300, 'A'), std::string(" ") + id, id + "\n"}) {
    EXPECT_FALSE(codec.open_character(s).has_value()) << s;
  }
}

TEST(KeyFingerprint, StableShortHexAndNotTheKey) {
  const std::string key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
  const std::string fp = key_fingerprint(key);
  EXPECT_EQ(fp.size(), 12u);
  for (char c : fp) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(fp, key_fingerprint(key));
  EXPECT_NE(fp, key_fingerprint(key + "x"));
  EXPECT_EQ(fp.find(key.substr(0, 6)), std::string::npos);
  EXPECT_EQ(key.find(fp), std::string::npos);
  // SHA-256("abc") = ba7816bf8f01cfea...
  EXPECT_EQ(key_fingerprint("abc"), "ba7816bf8f01");
  EXPECT_EQ(key_fingerprint(""), "e3b0c44298fc");
}

TEST(ConstantTimeEqual, Basics) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal("a", ""));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(RandomSecret, HexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    const std::string s = random_secret();
    EXPECT_EQ(s.size(), 64u);
    for (char c : s) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)));
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 16u);
}

}  // namespace
}  // namespace videogate::jobs
