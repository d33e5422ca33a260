using System.Text;
using Mail.Protocols.Addressing;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests;

/// <summary>How <see cref="SenderRewriter"/> writes and reverses SRS0 and SRS1 addresses.</summary>
public sealed class SenderRewriterTests
{
    // Day 18262 since 1970, slot 854 of 1024: "2W".
    private static readonly DateTimeOffset NewYear2020 = new(2020, 1, 1, 0, 1, 0, TimeSpan.Zero);
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("forwarder-secret-for-tests");

    private readonly FakeTimeProvider _time = new(NewYear2020);

    private SenderRewriter Rewriter(string domain = "example.com", byte[]? secret = null, Action<SenderRewritingOptions>? configure = null)
    {
        var options = new SenderRewritingOptions { Secret = secret ?? Secret, Domain = domain };
        configure?.Invoke(options);
        return new SenderRewriter(options, _time);
    }

    private static string Reverse(SenderRewriter rewriter, string address)
    {
        Assert.True(rewriter.TryReverse(address, out var original, out var failure), $"{address}: {failure}");
        Assert.Equal(SenderRewritingFailure.None, failure);
        return original;
    }

    private static SenderRewritingFailure ReverseFailure(SenderRewriter rewriter, string address)
    {
        Assert.False(rewriter.TryReverse(address, out var original, out var failure));
        Assert.Equal("", original);
        return failure;
    }

    [Theory]
    // The published postsrsd test vectors (secret "tops3cr3t", 2020-01-01): forward, reverse, SRS1, out-of-date stamps.
    [InlineData("vmyz", "2W", "otherdomain.com", "test")]
    [InlineData("XjO9", "2V", "otherdomain.com", "test")]
    [InlineData("te87", "T7", "otherdomain.com", "test")]
    [InlineData("VcIb", "7N", "otherdomain.com", "test")]
    [InlineData("JIBX", "thirddomain.com", "=opaque+string")]
    public void The_hash_matches_postsrsd_published_vectors(string expected, params string[] fields)
    {
        Assert.Equal(expected, SenderRewriter.ComputeHash(Encoding.UTF8.GetBytes("tops3cr3t"), 4, fields));
    }

    [Fact]
    public void Forward_writes_srs0_with_hash_day_stamp_domain_and_local_part()
    {
        // cQdy: the first four base64 characters of HMAC-SHA1(secret, "2wotherdomain.comtest"), computed independently.
        Assert.Equal("SRS0=cQdy=2W=otherdomain.com=test@example.com", Rewriter().Forward("test@otherdomain.com"));
    }

    [Fact]
    public void Forward_then_reverse_gives_back_the_original_sender()
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("alice@origin.test");
        Assert.EndsWith("@example.com", rewritten, StringComparison.Ordinal);
        Assert.True(SenderRewriter.IsRewritten(rewritten));
        Assert.Equal("alice@origin.test", Reverse(rewriter, rewritten));
    }

    [Fact]
    public void Domains_are_lower_cased_and_the_local_part_keeps_its_case()
    {
        var rewriter = Rewriter("Example.COM");
        var rewritten = rewriter.Forward("Test@OtherDomain.Com");
        Assert.Equal("SRS0=cQdy=2W=otherdomain.com=Test@example.com", rewritten);
        Assert.Equal("Test@otherdomain.com", Reverse(rewriter, rewritten));
    }

    [Theory]
    [InlineData("srs0=cqdy=2w=otherdomain.com=test@example.com", "test@otherdomain.com")]
    [InlineData("SRS0=CQDY=2W=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", "TEST@otherdomain.com")]
    public void A_relay_that_changes_case_does_not_break_the_bounce(string bounced, string original)
    {
        Assert.Equal(original, Reverse(Rewriter(), bounced));
    }

    [Theory]
    [InlineData("SRS0=cQdz=2W=otherdomain.com=test@example.com")] // one character of the hash changed
    [InlineData("SRS0=cQdy=2W=otherdomain.com=tester@example.com")] // the local part changed
    [InlineData("SRS0=cQdy=2W=evil.example=test@example.com")] // the domain changed
    [InlineData("SRS0=cQdy=2V=otherdomain.com=test@example.com")] // the stamp changed (to an earlier, still valid day)
    [InlineData("SRS0=cQd=2W=otherdomain.com=test@example.com")] // the hash cut short
    [InlineData("SRS0=FAKE=2W=otherdomain.com=test@example.com")]
    public void A_tampered_address_is_refused_for_its_hash(string address)
    {
        Assert.Equal(SenderRewritingFailure.BadHash, ReverseFailure(Rewriter(), address));
    }

    [Fact]
    public void A_longer_hash_is_checked_on_its_configured_length_as_libsrs2_does()
    {
        Assert.Equal("test@otherdomain.com", Reverse(Rewriter(), "SRS0=cQdyXX=2W=otherdomain.com=test@example.com"));
    }

    [Fact]
    public void An_address_signed_with_another_secret_is_refused()
    {
        var other = Rewriter(secret: Encoding.UTF8.GetBytes("another-forwarder-secret!!"));
        Assert.Equal(SenderRewritingFailure.BadHash, ReverseFailure(other, Rewriter().Forward("test@otherdomain.com")));
    }

    [Fact]
    public void A_retired_secret_still_reverses_but_no_longer_signs()
    {
        var old = Rewriter().Forward("test@otherdomain.com");
        var rotated = Rewriter(secret: Encoding.UTF8.GetBytes("the-new-forwarder-secret!!"), configure: o => o.RetiredSecrets.Add(Secret));
        Assert.Equal("test@otherdomain.com", Reverse(rotated, old));
        Assert.NotEqual(old, rotated.Forward("test@otherdomain.com"));
    }

    [Fact]
    public void An_address_is_valid_for_max_age_days_and_expired_the_day_after()
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("test@otherdomain.com");
        _time.Advance(TimeSpan.FromDays(21));
        Assert.Equal("test@otherdomain.com", Reverse(rewriter, rewritten));
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(SenderRewritingFailure.Expired, ReverseFailure(rewriter, rewritten));
    }

    [Fact]
    public void Max_age_is_configurable()
    {
        var rewriter = Rewriter(configure: o => o.MaxAge = TimeSpan.FromDays(3));
        var rewritten = rewriter.Forward("test@otherdomain.com");
        _time.Advance(TimeSpan.FromDays(3));
        Assert.Equal("test@otherdomain.com", Reverse(rewriter, rewritten));
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(SenderRewritingFailure.Expired, ReverseFailure(rewriter, rewritten));
    }

    [Fact]
    public void A_stamp_from_the_future_is_expired_as_libsrs2_counts_it()
    {
        // A forwarder whose clock runs two days ahead signs with a stamp this one reads as 1022 days old.
        var ahead = new SenderRewriter(new SenderRewritingOptions { Secret = Secret, Domain = "example.com" }, new FakeTimeProvider(NewYear2020.AddDays(2)));
        var fromTheFuture = ahead.Forward("test@otherdomain.com");
        Assert.Equal(SenderRewritingFailure.Expired, ReverseFailure(Rewriter(), fromTheFuture));
    }

    [Fact]
    public void The_day_stamp_wraps_after_1024_days()
    {
        // Forward on slot 1020, then reverse on slot 6 of the next cycle: 10 days old, not 1014 days in the future.
        var day = NewYear2020.ToUnixTimeSeconds() / 86400;
        var toSlot1020 = (1020 - (day % 1024) + 1024) % 1024;
        _time.Advance(TimeSpan.FromDays(toSlot1020));
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("test@otherdomain.com");
        Assert.StartsWith("SRS0=", rewritten, StringComparison.Ordinal);
        Assert.Equal("=74=", rewritten.Substring(9, 4)); // 1020 = 31 * 32 + 28
        _time.Advance(TimeSpan.FromDays(10)); // slot 6: "AG"
        Assert.Equal("test@otherdomain.com", Reverse(rewriter, rewritten));
        _time.Advance(TimeSpan.FromDays(12)); // 22 days old across the wrap
        Assert.Equal(SenderRewritingFailure.Expired, ReverseFailure(rewriter, rewritten));
    }

    [Theory]
    [InlineData('+')]
    [InlineData('-')]
    public void The_separator_after_the_tag_may_be_plus_or_minus(char separator)
    {
        var rewriter = Rewriter(configure: o => o.Separator = separator);
        var rewritten = rewriter.Forward("test@otherdomain.com");
        Assert.Equal($"SRS0{separator}cQdy=2W=otherdomain.com=test@example.com", rewritten);
        Assert.Equal("test@otherdomain.com", Reverse(Rewriter(), rewritten)); // reversal accepts any separator
    }

    [Theory]
    [InlineData("a=b+c@otherdomain.com")]
    [InlineData("a=b=c=d@otherdomain.com")]
    [InlineData("SRS0@otherdomain.com")] // not the SRS form: no separator after the tag
    [InlineData("user.name+tag@sub.otherdomain.com")]
    [InlineData("\"john doe\"@otherdomain.com")]
    [InlineData("\"john \\\"q\\\" doe\"@otherdomain.com")]
    [InlineData("\"a..b\"@otherdomain.com")]
    [InlineData("üser@otherdomain.com")]
    public void Unusual_local_parts_round_trip_as_opaque_text(string sender)
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward(sender);
        Assert.Equal(sender, Reverse(rewriter, rewritten));
    }

    [Fact]
    public void A_quoted_local_part_is_unquoted_and_the_whole_srs_local_part_quoted()
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("\"john doe\"@otherdomain.com");
        Assert.Matches("^\"SRS0=[A-Za-z0-9+/]{4}=2W=otherdomain.com=john doe\"@example.com$", rewritten);
        Assert.True(SenderRewriter.IsRewritten(rewritten));
        Assert.Equal("\"john doe\"@otherdomain.com", Reverse(rewriter, rewritten));
    }

    [Fact]
    public void The_null_reverse_path_is_never_rewritten()
    {
        Assert.True(Rewriter().TryForward("", out var rewritten, out var failure));
        Assert.Equal(("", SenderRewritingFailure.None), (rewritten, failure));
    }

    [Theory]
    [InlineData("bob@example.com")]
    [InlineData("bob@EXAMPLE.com")]
    [InlineData("SRS0=cQdy=2W=otherdomain.com=test@example.com")]
    public void An_address_of_the_forwarders_own_domain_is_unchanged(string sender)
    {
        Assert.Equal(sender, Rewriter().Forward(sender));
    }

    [Fact]
    public void Forwarding_another_forwarders_srs0_gives_srs1_naming_that_forwarder()
    {
        // DpIr: HMAC-SHA1(secret, "otherdomain.com=opaque+string"), computed independently; the inner part is opaque.
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("SRS0=opaque+string@otherdomain.com");
        Assert.Equal("SRS1=DpIr=otherdomain.com==opaque+string@example.com", rewritten);
        Assert.Equal("SRS0=opaque+string@otherdomain.com", Reverse(rewriter, rewritten));
    }

    [Theory]
    // Found by the fuzz target: SRS1 forms whose last field is not the first forwarder's SRS0 part (which starts with a
    // separator) reversed to an address that was no SRS0 any more. They are ordinary local parts now, rewritten as SRS0.
    [InlineData("SRS1+x=y=z@other.example")]
    [InlineData("SRS1+m=y==@other.example")]
    public void An_srs1_form_without_an_srs0_part_is_an_ordinary_local_part(string sender)
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward(sender);
        Assert.StartsWith("SRS0=", rewritten, StringComparison.Ordinal);
        Assert.Equal(sender, Reverse(rewriter, rewritten));
    }

    [Fact]
    public void An_address_literal_and_an_internationalised_domain_round_trip()
    {
        var rewriter = Rewriter();
        Assert.Equal("alice@[192.0.2.1]", Reverse(rewriter, rewriter.Forward("alice@[192.0.2.1]")));
        Assert.Equal("alice@bücher.example", Reverse(rewriter, rewriter.Forward("alice@bücher.example")));
    }

    [Fact]
    public void Forwarding_an_srs1_keeps_the_first_forwarder_and_signs_again()
    {
        var rewriter = Rewriter();
        var rewritten = rewriter.Forward("SRS1=X=otherdomain.com==opaque+string@thirddomain.com");
        Assert.Equal("SRS1=DpIr=otherdomain.com==opaque+string@example.com", rewritten);
    }

    [Fact]
    public void A_chain_of_three_forwarders_routes_the_bounce_back_step_by_step()
    {
        var first = Rewriter("first.test");
        var second = Rewriter("second.test", Encoding.UTF8.GetBytes("second-forwarder-secret-0123"));
        var third = Rewriter("third.test", Encoding.UTF8.GetBytes("third-forwarder-secret-01234"));

        var atFirst = first.Forward("alice@origin.test");
        var atSecond = second.Forward(atFirst);
        var atThird = third.Forward(atSecond);
        Assert.StartsWith("SRS1=", atSecond, StringComparison.Ordinal);
        Assert.Contains("=first.test==", atThird, StringComparison.Ordinal);
        Assert.EndsWith("@third.test", atThird, StringComparison.Ordinal);

        // The last forwarder's bounce goes straight to the first, which knows the sender.
        var back = Reverse(third, atThird);
        Assert.Equal(atFirst, back);
        Assert.Equal("alice@origin.test", Reverse(first, back));
        Assert.Equal(atFirst, Reverse(second, atSecond));
    }

    [Theory]
    [InlineData("SRS1=DpIq=otherdomain.com==opaque+string@example.com")]
    [InlineData("SRS1=DpIr=evil.example==opaque+string@example.com")]
    [InlineData("SRS1=DpIr=otherdomain.com==opaque+strung@example.com")]
    public void A_tampered_srs1_is_refused(string address)
    {
        Assert.Equal(SenderRewritingFailure.BadHash, ReverseFailure(Rewriter(), address));
    }

    [Fact]
    public void An_srs1_whose_case_a_relay_changed_still_reverses()
    {
        Assert.Equal("SRS0=OPAQUE+STRING@otherdomain.com", Reverse(Rewriter(), "SRS1=DPIR=OTHERDOMAIN.COM==OPAQUE+STRING@EXAMPLE.COM"));
    }

    [Theory]
    [InlineData("", SenderRewritingFailure.Malformed)]
    [InlineData("no-at-sign", SenderRewritingFailure.Malformed)]
    [InlineData("@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W=otherdomain.com=test@", SenderRewritingFailure.Malformed)]
    [InlineData("bob@example.com", SenderRewritingFailure.NotRewritten)]
    [InlineData("SRS2=cQdy=2W=otherdomain.com=test@example.com", SenderRewritingFailure.NotRewritten)]
    [InlineData("SRS0=@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W=otherdomain.com@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W=otherdomain.com=@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy==otherdomain.com=test@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W1=otherdomain.com=test@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=1W=otherdomain.com=test@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS1=@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS1=DpIr=otherdomain.com@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS1=DpIr=otherdomain.com=@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("\"SRS0=cQdy=2W=otherdomain.com=test@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W=otherdomain.com=te\r\nst@example.com", SenderRewritingFailure.Malformed)]
    [InlineData("SRS0=cQdy=2W=other domain.com=test@exa mple.com", SenderRewritingFailure.Malformed)]
    [InlineData("\u0000\u00ff@@@===", SenderRewritingFailure.Malformed)]
    public void Malformed_addresses_fail_with_a_reason_and_never_throw(string address, SenderRewritingFailure expected)
    {
        Assert.Equal(expected, ReverseFailure(Rewriter(), address));
    }

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("@otherdomain.com")]
    [InlineData("user@")]
    [InlineData("\"unterminated@otherdomain.com")]
    [InlineData("\"\"@otherdomain.com")]
    [InlineData("\"ends in backslash\\\"@otherdomain.com")]
    [InlineData("line\r\nbreak@otherdomain.com")]
    [InlineData("user@other domain.com")]
    // Found by the SenderRewriting fuzz target: a domain with '=' (the field separator) or other characters no domain
    // has was written into an SRS address that could not be read back, so its bounce was lost.
    [InlineData("alice@fwdAB=0=a")]
    [InlineData("alice@other.example=")]
    [InlineData("alice@oth*r.example")]
    [InlineData("alice@other..example")]
    [InlineData("alice@[192.0.2.1=]")]
    public void Malformed_reverse_paths_are_not_rewritten(string sender)
    {
        var rewriter = Rewriter();
        Assert.False(rewriter.TryForward(sender, out var rewritten, out var failure));
        Assert.Equal(("", SenderRewritingFailure.Malformed), (rewritten, failure));
        Assert.Throws<FormatException>(() => rewriter.Forward(sender));
    }

    [Fact]
    public void A_result_past_the_254_octet_path_limit_is_refused_and_one_at_it_is_not()
    {
        var rewriter = Rewriter();
        // "SRS0=HHHH=TT=" (13) + "otherdomain.com" (15) + "=" + local + "@example.com" (12) = 41 + local.
        Assert.True(rewriter.TryForward(new string('a', 213) + "@otherdomain.com", out var atLimit, out _));
        Assert.Equal(254, atLimit.Length);
        Assert.False(rewriter.TryForward(new string('a', 214) + "@otherdomain.com", out _, out var failure));
        Assert.Equal(SenderRewritingFailure.TooLong, failure);
    }

    [Theory]
    [InlineData("SRS0=x@y", true)]
    [InlineData("srs1+x@y", true)]
    [InlineData("Srs0-x@y", true)]
    [InlineData("\"SRS0=a b\"@y", true)]
    [InlineData("SRS0x@y", false)]
    [InlineData("SRS3=x@y", false)]
    [InlineData("bob@y", false)]
    [InlineData("SRS0=x", false)]
    [InlineData("", false)]
    public void Is_rewritten_recognises_the_srs_form_only(string address, bool expected)
    {
        Assert.Equal(expected, SenderRewriter.IsRewritten(address));
    }

    [Fact]
    public void Options_refuse_a_short_secret_and_a_missing_secret_or_domain()
    {
        var options = new SenderRewritingOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Secret = new byte[15]);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.HashLength = 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxAge = TimeSpan.FromDays(1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Separator = '.');
        Assert.Throws<ArgumentException>(() => options.Domain = "a b");
        Assert.Throws<ArgumentException>(() => new SenderRewriter(options));
        options.Secret = new byte[16];
        Assert.Throws<ArgumentException>(() => new SenderRewriter(options));
        options.Domain = "example.com";
        options.RetiredSecrets.Add(new byte[8]);
        Assert.Throws<ArgumentException>(() => new SenderRewriter(options));
    }

    [Fact]
    public void A_longer_hash_length_is_written_and_required()
    {
        var rewriter = Rewriter(configure: o => o.HashLength = 8);
        var rewritten = rewriter.Forward("test@otherdomain.com");
        Assert.Matches("^SRS0=cQdy[A-Za-z0-9+/]{4}=2W=", rewritten);
        Assert.Equal("test@otherdomain.com", Reverse(rewriter, rewritten));
        Assert.Equal(SenderRewritingFailure.BadHash, ReverseFailure(rewriter, "SRS0=cQdy=2W=otherdomain.com=test@example.com"));
    }
}
