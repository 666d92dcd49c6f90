// Who may call the Connect API: by default a Cognito user pool and a public app client (SRP sign-in, no
// secret: it ships inside mobile and browser apps). The API's JWT authorizer trusts this pool's issuer and
// this client's id as audience. Bring your own identity provider instead with CDK context (see api.ts).
// Safe by default: no open sign-up (an administrator creates users), no OAuth flows unless the deployer
// names the callback URLs (then the authorization code flow only, never implicit, and no example.com).
import { Aws, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import { Construct } from "constructs";
import { acknowledge, REASONS } from "../nag";

export interface UserAuthProps {
  /**
   * Let anyone sign up (default false: an administrator creates users; a consumer app that wants open
   * sign-up turns it on, context `selfSignUp`, and should then watch its pool for abuse).
   */
  readonly selfSignUp?: boolean;
  /** Send the pool's email through Amazon SES (default Cognito's sender, a few emails a day: testing only). */
  readonly email?: cognito.UserPoolSESOptions;
  /**
   * Cognito's hosted sign-in with the authorization code flow (the public client uses PKCE): its callback
   * and sign-out URLs and the Cognito domain prefix. Default none: the app signs in with SRP itself.
   */
  readonly hostedSignIn?: { callbackUrls: string[]; logoutUrls: string[]; domainPrefix: string };
  /** MFA for the app's users (default OPTIONAL: the app decides; REQUIRED makes every user enrol TOTP). */
  readonly mfa?: cognito.Mfa;
}

export class UserAuth extends Construct {
  readonly userPool: cognito.UserPool;
  readonly appClient: cognito.UserPoolClient;
  /** The JWT issuer the API trusts: the pool's provider URL. */
  readonly issuer: string;
  /** The JWT audience the API trusts: the app client id (`aud` of ID tokens, `client_id` of access tokens). */
  readonly audience: string[];

  constructor(scope: Construct, id: string, props: UserAuthProps = {}) {
    super(scope, id);
    const mfa = props.mfa ?? cognito.Mfa.OPTIONAL;
    const hosted = props.hostedSignIn;
    this.userPool = new cognito.UserPool(this, "UserPool", {
      selfSignUpEnabled: props.selfSignUp ?? false,
      // SES: in the stack's own region unless told (a token in a region-agnostic stack).
      ...(props.email
        ? { email: cognito.UserPoolEmail.withSES({ sesRegion: Aws.REGION, ...props.email }) }
        : {}),
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa,
      mfaSecondFactor: { otp: true, sms: false },
      deletionProtection: true,
      // The users' accounts outlive a mistaken stack deletion.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.appClient = this.userPool.addClient("AppClient", {
      generateSecret: false,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
      // Without this CDK turns on the implicit and code flows with https://example.com as callback.
      ...(hosted
        ? {
            oAuth: {
              flows: { authorizationCodeGrant: true },
              scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
              callbackUrls: hosted.callbackUrls,
              logoutUrls: hosted.logoutUrls,
            },
          }
        : { disableOAuth: true }),
    });
    if (hosted) this.userPool.addDomain("Domain", { cognitoDomain: { domainPrefix: hosted.domainPrefix } });
    this.issuer = this.userPool.userPoolProviderUrl;
    this.audience = [this.appClient.userPoolClientId];

    if (mfa !== cognito.Mfa.REQUIRED) acknowledge(this.userPool, "COG2", REASONS.cognitoMfa);
    acknowledge(this.userPool, "COG3", REASONS.cognitoPlus);
    acknowledge(this.userPool, "COG8", REASONS.cognitoPlus);
  }
}
