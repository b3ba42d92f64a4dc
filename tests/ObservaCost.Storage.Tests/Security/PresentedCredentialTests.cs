using System.Text;
using Microsoft.Extensions.Primitives;
using ObservaCost.Storage.Security;

namespace ObservaCost.Storage.Tests.Security;

public sealed class PresentedCredentialTests
{
    private const CredentialSchemes Ingest = CredentialSchemes.Bearer | CredentialSchemes.Token | CredentialSchemes.Basic | CredentialSchemes.QueryPassword;

    private static string Basic(string text) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("Bearer abc", "abc")]
    [InlineData("bearer   abc  ", "abc")]
    [InlineData("Token abc", "abc")]
    [InlineData("Basic dGVsZWdyYWY6YWJj", "abc")] // base64("telegraf:abc")
    [InlineData("Basic OmFiYw==", "abc")] // base64(":abc"): the user may be empty
    public void Read_WellFormedHeader_IsPresentedWithItsToken(string header, string token)
    {
        PresentedCredential credential = PresentedCredential.Read(header, default, Ingest);
        Assert.Equal(CredentialStatus.Presented, credential.Status);
        Assert.Equal(token, credential.Token);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Token")]
    [InlineData("Bearer two tokens")]
    [InlineData("Basic")]
    [InlineData("Basic !!!not-base64!!!")]
    [InlineData("Basic dGVsZWdyYWY=")] // base64("telegraf"): no colon
    [InlineData("Basic dGVsZWdyYWY6")] // base64("telegraf:"): empty token
    [InlineData("Basic /w==")] // base64 of 0xFF: not UTF-8
    [InlineData("Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==")]
    [InlineData("Digest username=\"x\"")]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("   ")]
    public void Read_MalformedOrUnknownScheme_IsMalformed_NeverAbsent(string header)
    {
        PresentedCredential credential = PresentedCredential.Read(header, default, Ingest);
        Assert.Equal(CredentialStatus.Malformed, credential.Status);
        Assert.Null(credential.Token);
        Assert.False(string.IsNullOrEmpty(credential.Problem));
    }

    [Fact]
    public void Read_SchemeTheHostDoesNotAccept_IsMalformed()
    {
        // The API accepts Bearer only: a tenant's ingest token sent as 'Token' or Basic is refused, not anonymous.
        foreach (string header in new[] { "Token abc", Basic("u:abc") })
        {
            PresentedCredential credential = PresentedCredential.Read(header, default, CredentialSchemes.Bearer);
            Assert.Equal(CredentialStatus.Malformed, credential.Status);
            Assert.Contains("Bearer", credential.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_QueryPassword_PresentedWhenNonEmpty_MalformedWhenEmptyOrRepeated_IgnoredWhereNotAccepted()
    {
        Assert.Equal(CredentialStatus.Presented, PresentedCredential.Read(default, "abc", Ingest).Status);
        Assert.Equal(CredentialStatus.Malformed, PresentedCredential.Read(default, string.Empty, Ingest).Status);
        Assert.Equal(CredentialStatus.Malformed, PresentedCredential.Read(default, new StringValues(["a", "b"]), Ingest).Status);
        Assert.Equal(CredentialStatus.Absent, PresentedCredential.Read(default, "abc", CredentialSchemes.Bearer).Status);
    }

    [Fact]
    public void Read_NothingPresented_IsAbsent_TwoHeadersAreMalformed()
    {
        Assert.Equal(CredentialStatus.Absent, PresentedCredential.Read(default, default, Ingest).Status);
        Assert.Equal(CredentialStatus.Malformed, PresentedCredential.Read(new StringValues(["Bearer a", "Bearer b"]), default, Ingest).Status);
    }
}
