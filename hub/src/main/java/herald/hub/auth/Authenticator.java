package herald.hub.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import herald.config.HeraldSettings;
import herald.config.SettingsException;
import herald.protocol.FrameCodec;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a token into a {@link Principal}, or refuses it. In mode {@code none} everyone is the same
 * anonymous principal with the configured permissions. In mode {@code jwt} tokens are verified with
 * nimbus-jose-jwt: HS256 against the shared secret, RS256 and ES256 against the configured public
 * keys. Each algorithm is accepted only with its own kind of key, so {@code alg: none} and
 * algorithm confusion (an HS256 token "signed" with a public key) are always refused; {@code exp}
 * and {@code sub} are required and {@code nbf} is honoured within the configured clock skew.
 */
public final class Authenticator {
    private final HeraldSettings.AuthMode mode;
    private final Principal anonymous;
    private final DefaultJWTProcessor<SecurityContext> processor;

    private Authenticator(HeraldSettings.AuthMode mode, Principal anonymous,
                          DefaultJWTProcessor<SecurityContext> processor) {
        this.mode = mode;
        this.anonymous = anonymous;
        this.processor = processor;
    }

    /** Reads keys from the files configured; a missing or unreadable key fails start-up. */
    public static Authenticator create(HeraldSettings.Auth settings) {
        Principal anonymous = new Principal(null, 0, Permissions.of(settings.noneSubscribe(), settings.nonePublish()));
        if (settings.mode() == HeraldSettings.AuthMode.NONE) {
            return new Authenticator(settings.mode(), anonymous, null);
        }
        HeraldSettings.Jwt jwt = settings.jwt();
        DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
        processor.setJWSKeySelector(keySelector(jwt));
        JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
        if (!jwt.issuer().isEmpty()) {
            exact.issuer(jwt.issuer());
        }
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                jwt.audience().isEmpty() ? null : jwt.audience(), exact.build(), Set.of("exp", "sub"));
        claims.setMaxClockSkew((int) jwt.clockSkew().toSeconds());
        processor.setJWTClaimsSetVerifier(claims);
        return new Authenticator(settings.mode(), anonymous, processor);
    }

    private static JWSKeySelector<SecurityContext> keySelector(HeraldSettings.Jwt jwt) {
        JWSKeySelector<SecurityContext> secret = jwt.hs256Secret().isEmpty() ? null
                : new JWSVerificationKeySelector<>(JWSAlgorithm.HS256,
                        new ImmutableSecret<>(jwt.hs256Secret().getBytes(StandardCharsets.UTF_8)));
        List<JWK> keys = publicKeys(jwt);
        JWSKeySelector<SecurityContext> pub = keys.isEmpty() ? null
                : new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256),
                        new ImmutableJWKSet<>(new JWKSet(keys)));
        return (header, context) -> {
            if (JWSAlgorithm.HS256.equals(header.getAlgorithm())) {
                return secret == null ? List.of() : secret.selectJWSKeys(header, context);
            }
            return pub == null ? List.of() : pub.selectJWSKeys(header, context);
        };
    }

    private static List<JWK> publicKeys(HeraldSettings.Jwt jwt) {
        List<JWK> keys = new ArrayList<>();
        for (String file : jwt.publicKeyFiles()) {
            try {
                keys.add(jwkOf(readPemPublicKey(Path.of(file))));
            } catch (IOException | IllegalArgumentException | java.security.GeneralSecurityException e) {
                throw new SettingsException("herald.auth.jwt.public-key-files: cannot read a public key from "
                        + file + ": " + e.getMessage());
            }
        }
        if (!jwt.jwksFile().isEmpty()) {
            try {
                for (JWK key : JWKSet.load(new File(jwt.jwksFile())).getKeys()) {
                    keys.add(key.toPublicJWK());
                }
            } catch (IOException | ParseException e) {
                throw new SettingsException("herald.auth.jwt.jwks-file: cannot read " + jwt.jwksFile() + ": " + e.getMessage());
            }
        }
        Set<String> ids = new HashSet<>();
        return keys.stream().filter(k -> k.getKeyID() == null || ids.add(k.getKeyID())).toList();
    }

    /** A "PUBLIC KEY" PEM block (X.509 SubjectPublicKeyInfo), RSA or EC. */
    static PublicKey readPemPublicKey(Path file) throws IOException, java.security.GeneralSecurityException {
        String pem = Files.readString(file);
        String base64 = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(base64);
        for (String algorithm : new String[] {"RSA", "EC"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
            } catch (java.security.spec.InvalidKeySpecException notThisKind) {
                // try the next kind of key
            }
        }
        throw new IllegalArgumentException("not an RSA or EC public key in PEM (-----BEGIN PUBLIC KEY-----)");
    }

    private static JWK jwkOf(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            return new RSAKey.Builder(rsa).build();
        }
        ECPublicKey ec = (ECPublicKey) key;
        return new ECKey.Builder(com.nimbusds.jose.jwk.Curve.forECParameterSpec(ec.getParams()), ec).build();
    }

    /** Whether clients must present a token. */
    public boolean required() {
        return mode == HeraldSettings.AuthMode.JWT;
    }

    /** Everyone's principal when authentication is off. */
    public Principal anonymous() {
        return anonymous;
    }

    public Principal verify(String token) throws AuthenticationException {
        if (!required()) {
            return anonymous;
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(token, null);
        } catch (ParseException e) {
            throw new AuthenticationException("the token is not a JWT");
        } catch (BadJOSEException | JOSEException e) {
            throw new AuthenticationException("the token is not accepted: " + e.getMessage());
        }
        try {
            Permissions permissions = Permissions.of(strings(claims, "subscribe"), strings(claims, "publish"));
            Object presence = claims.getClaim("presence");
            return new Principal(claims.getSubject(), claims.getExpirationTime().getTime(), permissions,
                    presence == null ? null : FrameCodec.json(presence));
        } catch (ParseException | IllegalArgumentException e) {
            throw new AuthenticationException("the token's permissions are not lists of topic patterns: " + e.getMessage());
        }
    }

    private static List<String> strings(JWTClaimsSet claims, String name) throws ParseException {
        List<String> list = claims.getStringListClaim(name);
        return list == null ? List.of() : list;
    }
}
