using System.Net;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Storage.Security;

namespace ObservaCost.Storage.Tests.Security;

public sealed class AuthFailureLimiterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.10");

    [Fact]
    public void Limiter_OverTheLimit_LimitedUntilTheWindowEnds_ThenRecovers()
    {
        var clock = new FakeTimeProvider(T0);
        var limiter = new AuthFailureLimiter(new AuthFailureLimitOptions { MaxFailures = 3, Window = TimeSpan.FromMinutes(1) }, clock);

        // Failures at 0 s, 10 s, 20 s: the window opened at 0 s; the third reaches the limit (and says so, once).
        Assert.False(limiter.RecordFailure(Client));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(limiter.RecordFailure(Client));
        Assert.False(limiter.IsLimited(Client, out _));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.RecordFailure(Client));
        Assert.False(limiter.RecordFailure(Client));

        // At 20 s: limited for the 40 s left of the window; another address is not.
        Assert.True(limiter.IsLimited(Client, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(40), retryAfter);
        Assert.False(limiter.IsLimited(IPAddress.Parse("192.0.2.11"), out _));

        // At 59 s still limited (1 s left); at 60 s the window is over and the address is free again.
        clock.Advance(TimeSpan.FromSeconds(39));
        Assert.True(limiter.IsLimited(Client, out retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(limiter.IsLimited(Client, out _));
        Assert.Equal(0, limiter.TrackedAddresses);
    }

    [Fact]
    public void Limiter_IPv6_CountsPerSlash64_IPv4MappedAsIPv4()
    {
        var clock = new FakeTimeProvider(T0);
        var limiter = new AuthFailureLimiter(new AuthFailureLimitOptions { MaxFailures = 2 }, clock);

        // Two addresses of one /64 are one client; the mapped form of 192.0.2.10 is 192.0.2.10.
        limiter.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        limiter.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::9"));
        Assert.True(limiter.IsLimited(IPAddress.Parse("2001:db8:1:2::77"), out _));
        Assert.False(limiter.IsLimited(IPAddress.Parse("2001:db8:1:3::1"), out _));

        limiter.RecordFailure(IPAddress.Parse("::ffff:192.0.2.10"));
        limiter.RecordFailure(Client);
        Assert.True(limiter.IsLimited(Client, out _));
    }

    [Fact]
    public void Limiter_TableFull_StaysBounded_UntrackedAddressesShareTheOverflowCounter()
    {
        var clock = new FakeTimeProvider(T0);
        var limiter = new AuthFailureLimiter(new AuthFailureLimitOptions { MaxFailures = 3, MaxTrackedAddresses = 2 }, clock);

        // 1,000 addresses fail once each: two are tracked, the other 998 land in the one overflow entry.
        for (int i = 0; i < 1_000; i++)
        {
            limiter.RecordFailure(new IPAddress(0x0A000000u + (uint)i));
        }

        Assert.Equal(3, limiter.TrackedAddresses);

        // The tracked addresses failed once (free); an untracked one is limited (the overflow counter is at 998 ≥ 3).
        Assert.False(limiter.IsLimited(new IPAddress(0x0A000000u), out _));
        Assert.True(limiter.IsLimited(IPAddress.Parse("198.51.100.7"), out _));

        // After the window every entry has expired: the sweep frees the table for new addresses.
        clock.Advance(TimeSpan.FromMinutes(1));
        limiter.RecordFailure(IPAddress.Parse("198.51.100.7"));
        Assert.False(limiter.IsLimited(IPAddress.Parse("198.51.100.7"), out _));
        Assert.True(limiter.TrackedAddresses <= 3);
    }

    [Fact]
    public void Options_Invalid_NameEveryKey()
    {
        var options = new AuthFailureLimitOptions { MaxFailures = 0, Window = TimeSpan.Zero, MaxTrackedAddresses = 0 };
        string[] failures = [.. options.Validate("Collector:Auth:FailureLimit")];
        Assert.Equal(3, failures.Length);
        Assert.Contains(failures, f => f.StartsWith("Collector:Auth:FailureLimit:MaxFailures", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Collector:Auth:FailureLimit:Window", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Collector:Auth:FailureLimit:MaxTrackedAddresses", StringComparison.Ordinal));
    }
}
